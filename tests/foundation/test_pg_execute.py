"""``LeanCursor``: psycopg's results and errors, with ``BEGIN`` in the first statement's round trip.

Each statement runs on a psycopg cursor and on a lean one against the same
server and must leave the same observable state (rows, rowcount, status,
description, transaction status); the round trips are counted on the wire
(libpq's trace). Errors, prepared statements, two cursors reading the same
query at once, and a frozen backend are each checked against what psycopg
itself does.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import pq
from sqlalchemy import text

from gateway.storage.pg_deadlines import DatabaseDeadlineExceeded
from gateway.storage.pg_execute import LeanCursor
from tests.support.pg_connect import lean_connection as _connect
from tests.support.pg_connect import libpq_trace

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

_INTRANS = pq.TransactionStatus.INTRANS
_INERROR = pq.TransactionStatus.INERROR
_IDLE = pq.TransactionStatus.IDLE


@contextmanager
def _wire(connection: psycopg.Connection[Any]) -> Iterator[list[str]]:
    """The frontend messages and ``ReadyForQuery`` lines sent meanwhile."""
    lines: list[str] = []
    with libpq_trace(connection) as trace:
        yield lines
    for line in trace:
        parts = line.split("\t")
        if len(parts) > 2 and (parts[0] == "F" or parts[2] == "ReadyForQuery"):
            lines.append(" ".join(p.strip() for p in (parts[0], *parts[2:])))


def _round_trips(lines: list[str]) -> int:
    return sum(1 for line in lines if line.startswith("B ReadyForQuery"))


def _state(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    description = cursor.description
    columns = None if description is None else [tuple(column) for column in description]
    rows = cursor.fetchall() if description is not None else None
    return (
        rows,
        cursor.rowcount,
        cursor.statusmessage,
        columns,
        cursor.connection.info.transaction_status,
    )


STATEMENTS: list[tuple[str, Any]] = [
    ("SELECT %(a)s::int + 1 AS n, %(b)s::text AS t", {"a": 41, "b": "x"}),
    ("SELECT %(a)s AS same, %(a)s AS again", {"a": "twice"}),
    ("SELECT %s::int, %s::text, %s::bytea", (1, None, b"\x00")),
    ("INSERT INTO lean_t (k, v) VALUES (%(k)s, %(v)s) RETURNING k, v", {"k": 1, "v": "one"}),
    ("UPDATE lean_t SET v = %(v)s WHERE k >= %(k)s", {"k": 0, "v": "all"}),
    ("SELECT k, v FROM lean_t WHERE k = %(k)s", {"k": 99}),
    ("SELECT 1 AS one; SELECT 2 AS two", None),
    ("SELECT %(n)s::int AS n", {"n": 7, "unused": 1}),
]


@pytest.mark.parametrize(("query", "params"), STATEMENTS)
def test_the_same_state_as_psycopgs_cursor(database_url: str, query: str, params: Any) -> None:
    states = []
    for factory in (psycopg.Cursor, LeanCursor):
        with _connect(database_url) as connection:
            connection.cursor_factory = factory
            connection.execute("CREATE TEMP TABLE lean_t (k int PRIMARY KEY, v text)")
            connection.execute("INSERT INTO lean_t VALUES (5, 'five')")
            connection.commit()
            cursor = connection.cursor()
            assert type(cursor) is factory
            cursor.execute(query, params)
            states.append(_state(cursor))
            connection.rollback()
    assert states[0] == states[1]


def test_begin_rides_with_the_first_statement(database_url: str) -> None:
    with _connect(database_url) as connection:
        cursor = connection.cursor()
        with _wire(connection) as lines:
            cursor.execute("SELECT %(a)s::int", {"a": 1})
            assert cursor.fetchone() == (1,)
            assert connection.info.transaction_status == _INTRANS
            cursor.execute("SELECT %(a)s::int", {"a": 2})
            connection.commit()
        sent = [line for line in lines if line.startswith("F Parse")]
        assert '"BEGIN"' in sent[0], lines
        assert _round_trips(lines) == 3, lines  # BEGIN + SELECT, SELECT, COMMIT
        assert connection.info.transaction_status == _IDLE


def test_no_begin_in_autocommit_or_inside_a_transaction(database_url: str) -> None:
    with _connect(database_url, autocommit=True) as connection:
        with _wire(connection) as lines:
            connection.cursor().execute("SELECT %(a)s::int", {"a": 1})
        assert not any("BEGIN" in line for line in lines), lines
        assert _round_trips(lines) == 1
        with connection.transaction(), _wire(connection) as lines:
            connection.cursor().execute("SELECT %(a)s::int", {"a": 1})
        assert not any("BEGIN" in line for line in lines), lines


def test_an_error_in_the_first_statement_is_its_own_and_fails_the_transaction(
    database_url: str,
) -> None:
    with _connect(database_url) as connection:
        cursor = connection.cursor()
        with pytest.raises(psycopg.errors.DivisionByZero):
            cursor.execute("SELECT 1 / %(z)s::int", {"z": 0})
        assert connection.info.transaction_status == _INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            connection.cursor().execute("SELECT %(a)s::int", {"a": 1})
        connection.rollback()
        cursor = connection.cursor()
        cursor.execute("SELECT %(a)s::int", {"a": 3})
        assert cursor.fetchone() == (3,)
        assert connection.info.transaction_status == _INTRANS


def test_a_missing_parameter_is_psycopgs_error(database_url: str) -> None:
    with _connect(database_url) as connection, pytest.raises(psycopg.ProgrammingError, match="b"):
        connection.cursor().execute("SELECT %(a)s, %(b)s", {"a": 1})


def test_statements_are_prepared_as_psycopg_prepares_them(database_url: str) -> None:
    query = "SELECT %(a)s::int * 2"
    with _connect(database_url) as connection:
        threshold = connection.prepare_threshold
        assert threshold is not None
        with _wire(connection) as lines:
            for i in range(threshold + 3):
                cursor = connection.cursor()
                cursor.execute(query, {"a": i})
                assert cursor.fetchone() == (2 * i,)
                cursor.close()
                connection.commit()
        parses = [line for line in lines if line.startswith("F Parse") and "$1" in line]
        named = [line for line in parses if '"_pg3_' in line]
        assert len(parses) == threshold + 1 and len(named) == 1, lines
        binds = [line for line in lines if line.startswith("F Bind") and '"_pg3_' in line]
        assert len(binds) == 3
        # One round trip per statement (BEGIN and, once, the Parse ride along) and per COMMIT.
        assert _round_trips(lines) == 2 * (threshold + 3)


def test_a_statement_that_fails_to_parse_is_never_cached(database_url: str) -> None:
    with _connect(database_url) as connection:
        for _ in range((connection.prepare_threshold or 0) + 2):
            with pytest.raises(psycopg.errors.UndefinedTable):
                connection.cursor().execute("SELECT * FROM no_such_table WHERE a = %(a)s", {"a": 1})
            connection.rollback()
        assert not connection._prepared._names


def test_two_cursors_reading_the_same_query_keep_their_own_rows(database_url: str) -> None:
    query = "SELECT generate_series(1, %(n)s)"
    with _connect(database_url) as connection:
        first, second = connection.cursor(), connection.cursor()
        first.execute(query, {"n": 3})
        second.execute(query, {"n": 5})
        assert first.fetchone() == (1,)
        assert second.fetchall() == [(i,) for i in range(1, 6)]
        assert first.fetchall() == [(2,), (3,)]
        first.close()
        third = connection.cursor()
        third.execute(query, {"n": 2})
        assert third.fetchall() == [(1,), (2,)]
        assert second.fetchall() == []


def test_a_fresh_cursor_is_the_one_psycopg_makes(database_url: str) -> None:
    with _connect(database_url) as connection:
        lean = connection.cursor()
        made = LeanCursor(connection)
        slots = [
            s for s in psycopg.Cursor.__mro__[1].__slots__ if s not in ("__weakref__", "_adapters")
        ]  # type: ignore[attr-defined]
        assert {s: getattr(lean, s, None) for s in slots} == {
            s: getattr(made, s, None) for s in slots
        }
        assert lean.adapters is not connection.adapters  # its own map, made on first use
        assert lean.adapters.types is not None


def test_a_frozen_backend_gets_the_deadline_and_the_connection_closed(database_url: str) -> None:
    with _connect(database_url) as connection:
        pid = connection.info.backend_pid
        connection.wait_timeout_s = 0.5
        os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(DatabaseDeadlineExceeded):
                connection.cursor().execute("SELECT %(a)s::int", {"a": 1})  # with its BEGIN
        finally:
            os.kill(pid, signal.SIGCONT)
        assert connection.closed


def test_the_engines_connections_run_it(database_url: str) -> None:
    from gateway.storage.pg_deadlines import postgresql_engine

    engine = postgresql_engine(database_url, 5.0)
    try:
        with engine.begin() as connection:
            assert isinstance(connection.connection.dbapi_connection.cursor(), LeanCursor)
            value = connection.execute(text("SELECT CAST(:a AS int) + 1"), {"a": 1}).scalar()
            assert value == 2
    finally:
        engine.dispose()


def test_the_installed_psycopg_is_the_one_it_was_written_against(database_url: str) -> None:
    """The private names it uses (some only on an error path) and the cursor state
    ``fresh`` sets all match; otherwise the engine would quietly run psycopg's cursor."""
    from gateway.storage.pg_execute import INTERNALS_MATCH

    assert INTERNALS_MATCH
    with _connect(database_url) as connection:
        assert type(connection.cursor()) is LeanCursor


def test_without_matching_internals_the_engine_keeps_psycopgs_cursor(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A psycopg whose internals moved (a renamed ``_NO_TRACEBACK`` would turn every
    database error into an ``AttributeError``) gets psycopg's own cursor, and works."""
    from gateway.storage import pg_deadlines
    from gateway.storage.pg_cursor import LazyDescriptionCursor

    monkeypatch.setattr(pg_deadlines, "INTERNALS_MATCH", False)
    engine = pg_deadlines.postgresql_engine(database_url, 5.0)
    try:
        with engine.begin() as connection:
            cursor = connection.connection.dbapi_connection.cursor()
            assert type(cursor) is LazyDescriptionCursor
            value = connection.execute(text("SELECT CAST(:a AS int) + 1"), {"a": 1}).scalar()
            assert value == 2
    finally:
        engine.dispose()
