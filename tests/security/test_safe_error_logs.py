"""Server logs of unexpected errors carry no SQL parameters or SQL error text.

Promise 10 (pseudonymous at rest and in motion) and the charter's "no personal
data in logs": an unhandled database error used to reach the log twice: once
as our summary, and once as the traceback that Starlette re-raises to uvicorn,
whose message (``str(exc)``) holds the statement's parameters: the person's
pseudonym and sealed BSN, or a driver's quote of the offending value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.cases.models import CaseSubject
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.storage.db import Database
from gateway.subjects.bsn import Bsn

BSN = "999990007"
PURPOSE = "pga-casusoverleg"
ROW_VALUE = "kp-bsn-999990019-notitie"


class Captured(logging.Handler):
    """Every record that reaches the root or uvicorn's handlers, formatted as a file would be."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, words: str, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while words not in self.text:
            assert time.monotonic() < deadline, f"no log record with {words!r}: {self.text}"
            time.sleep(0.05)


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def _force_case_subject_failure(db: Database, message: str) -> None:
    """A trigger that refuses every new case subject, quoting the pseudonym on PostgreSQL."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION kp_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION USING ERRCODE = '23514', "
                    f"MESSAGE = '{message} ' || NEW.pseudonym, DETAIL = NEW.sealed_bsn; "
                    "END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER kp_refuse BEFORE INSERT ON case_subjects "
                    "FOR EACH ROW EXECUTE FUNCTION kp_refuse()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER kp_refuse BEFORE INSERT ON case_subjects "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            )


def test_database_error_log_has_no_parameters_or_sql_error_text(
    stack: Stack, captured: Captured
) -> None:
    """Promise 10, pseudonymous in motion: a request that dies on a database error logs
    the exception class, route and a correlation id, never the statement's parameters
    (the pseudonym, the sealed BSN) nor the database's message quoting them."""
    _force_case_subject_failure(stack.runtime.db, ROW_VALUE)
    pseudonym = stack.runtime.pseudonymizer.pseudonym(Bsn(BSN))
    gemeente = stack.client("gemeente-demo")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    response = gemeente.open_case(DEMO_COVENANT, PURPOSE, BSN, ["politie-demo"], "casusoverleg")
    assert response.status_code in (500, 503), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert pseudonym not in response.text and ROW_VALUE not in response.text
    # An unexpected error is contained (gateway/api/contain.py): logged before the answer.
    logged = captured.text
    assert logged, "the failure must be logged"
    assert pseudonym not in logged
    assert BSN not in logged
    assert ROW_VALUE not in logged
    assert "[parameters:" not in logged and "INSERT INTO" not in logged
    if response.status_code == 500:
        reference = response.json()["correlation_id"]
        summary = [line for line in captured.lines if reference in line]
        assert summary, logged
        assert "IntegrityError" in summary[0] and "POST /v1/cases" in summary[0]
    with stack.runtime.db.session() as session:
        assert session.scalar(select(CaseSubject.pseudonym)) is None, "nothing was stored"


def test_any_logger_with_a_database_error_is_scrubbed(stack: Stack, captured: Captured) -> None:
    """Promise 10: background jobs log failures with ``log.exception``; the traceback of a
    real SQLAlchemy error keeps its frames and class names but loses its message."""
    _force_case_subject_failure(stack.runtime.db, ROW_VALUE)
    job_log = logging.getLogger("ketenpoort.retention")
    with stack.runtime.db.session() as session:
        try:
            session.execute(
                CaseSubject.__table__.insert().values(
                    pseudonym=ROW_VALUE, sealed_bsn=BSN, created_at=text("CURRENT_TIMESTAMP")
                )
            )
        except SQLAlchemyError as exc:
            job_log.exception("retention run failed")
            job_log.warning("retention run failed: %s", exc)
            session.rollback()
        else:
            pytest.fail("the trigger should refuse the row")
    logged = captured.text
    assert "retention run failed" in logged
    assert "Traceback (most recent call last)" in logged, "frames stay for the operator"
    assert "IntegrityError" in logged
    assert ROW_VALUE not in logged and BSN not in logged
