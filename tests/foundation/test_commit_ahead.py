"""``COMMIT`` in the round trip of a transaction's last statement (gateway/storage/commit_ahead.py).

Counted on the wire: the statement and its ``COMMIT`` are one round trip and the
transaction's own commit afterwards sends nothing. What a separate ``COMMIT``
promised still holds: the call returns only once the server answered it; a
failed ``COMMIT`` (here a deferred constraint that fails at commit) or a failed
statement raises SQLAlchemy's wrapped error from the statement, and nothing is
committed; a statement after the ``COMMIT`` is refused; a lost connection is
invalidated; with ORM work in the Session, or on SQLite, the commit goes as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from gateway.storage.commit_ahead import commit_with_last
from gateway.storage.connection_of import connection_of
from gateway.storage.db import Database
from tests.support.pg_wire import wire_round_trips

_INSERT = text("INSERT INTO kp_ahead (n) VALUES (:n)")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE kp_ahead (n integer NOT NULL)"))
        if db.is_postgresql:
            # Refuses a negative n, but only at COMMIT: the COMMIT itself fails.
            connection.execute(
                text(
                    "CREATE FUNCTION kp_ahead_check() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF NEW.n < 0 THEN RAISE EXCEPTION USING ERRCODE = '23514', "
                    "MESSAGE = 'refused at commit'; END IF; RETURN NULL; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER kp_ahead_check AFTER INSERT ON kp_ahead "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kp_ahead_check()"
                )
            )
    yield db
    db.dispose()


def _rows(db: Database) -> list[int]:
    with db.engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT n FROM kp_ahead ORDER BY n"))]


def test_commit_rides_with_the_last_statement(database: Database) -> None:
    counted = wire_round_trips(database.engine) if database.is_postgresql else nullcontext()
    with counted as wire, database.transaction() as session:
        connection = connection_of(session)
        connection.execute(_INSERT, {"n": 1})
        with commit_with_last(session) as ahead:
            connection.execute(_INSERT, {"n": 2})
    assert ahead is database.is_postgresql
    assert _rows(database) == [1, 2]
    if wire is not None:
        # BEGIN + the first insert; the second insert + COMMIT; the pool's reset sends
        # nothing for an idle connection.
        assert wire.round_trips == 2, wire.sent
        assert wire.sent.count('"" "COMMIT" 0') == 1, wire.sent
        assert '"COMMIT"' not in wire.sent, wire.sent  # no COMMIT of its own


def test_a_failed_commit_raises_from_the_statement_and_commits_nothing(
    database: Database,
) -> None:
    if not database.is_postgresql:
        pytest.skip("a deferred constraint trigger is PostgreSQL's")
    reached = False
    with pytest.raises(IntegrityError) as raised, database.transaction() as session:
        connection = connection_of(session)
        connection.execute(_INSERT, {"n": 1})
        with commit_with_last(session) as ahead:
            assert ahead
            connection.execute(_INSERT, {"n": -1})
        reached = True
    assert not reached  # nothing after the statement took it for committed
    assert "refused at commit" in str(raised.value.orig)
    assert _rows(database) == []
    # The connection went back to the pool in a clean state and serves the next unit.
    with database.transaction() as session, commit_with_last(session) as ahead:
        connection_of(session).execute(_INSERT, {"n": 3})
    assert ahead
    assert _rows(database) == [3]


def test_a_failed_statement_skips_the_commit(database: Database) -> None:
    with pytest.raises(DBAPIError), database.transaction() as session:
        connection = connection_of(session)
        connection.execute(_INSERT, {"n": 1})
        with commit_with_last(session):
            connection.execute(_INSERT, {"n": None})  # NOT NULL
    assert _rows(database) == []
    with database.transaction() as session:
        connection_of(session).execute(_INSERT, {"n": 4})
    assert _rows(database) == [4]


def test_no_statement_runs_after_the_commit(database: Database) -> None:
    if not database.is_postgresql:
        pytest.skip("SQLite commits at the end of the transaction")
    refused = pytest.raises(ProgrammingError, match="committed with its last statement")
    with refused, database.transaction() as session:
        connection = connection_of(session)
        with commit_with_last(session):
            connection.execute(_INSERT, {"n": 1})
        connection.execute(_INSERT, {"n": 2})  # would run outside any transaction
    assert _rows(database) == [1]
    with database.transaction() as session:  # ended by the rollback: usable again
        connection_of(session).execute(_INSERT, {"n": 5})
    assert _rows(database) == [1, 5]


def test_orm_work_in_the_session_commits_as_before(database: Database) -> None:
    with database.transaction() as session:
        session.execute(text("SELECT 1"))  # the Session began: it commits at the end
        with commit_with_last(session) as ahead:
            connection_of(session).execute(_INSERT, {"n": 6})
    assert ahead is False
    assert _rows(database) == [6]


def test_a_lost_connection_is_invalidated(database: Database) -> None:
    if not database.is_postgresql:
        pytest.skip("PostgreSQL's connections")
    with pytest.raises(DBAPIError) as raised, database.transaction() as session:
        connection = connection_of(session)
        pid = connection.execute(text("SELECT pg_backend_pid() + :z"), {"z": 0}).scalar()
        with database.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with commit_with_last(session):
            connection.execute(_INSERT, {"n": 7})
    assert raised.value.connection_invalidated
    assert _rows(database) == []
