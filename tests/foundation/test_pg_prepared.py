"""psycopg's prepared-statement bookkeeping stays in step with the server after a failed pipeline.

``LeanCursor`` sends the ``Parse`` of a statement psycopg decided to prepare in
the same pipeline as ``BEGIN``, the statement and ``COMMIT``, or several
statements (``execute_together``). A named prepared statement that the server
parsed outlives the failure of anything after it, even a rollback, and one it
skipped or refused does not exist. After each kind of failure the names
psycopg's ``PrepareManager`` holds are the ones the server has
(``pg_prepared_statements``), and the statement runs again.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from gateway.storage.pg_deadlines import DeadlineConnection
from gateway.storage.pg_execute import AHEAD, COMMIT_NEXT, execute_together
from tests.support.pg_connect import lean_connection

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _in_step(connection: DeadlineConnection) -> tuple[set[str], set[str]]:
    """The names the server holds and the names psycopg's manager holds."""
    held = connection.execute(
        "SELECT name FROM pg_prepared_statements WHERE NOT from_sql", prepare=False
    )
    server = {row[0] for row in held}
    connection.commit()
    return server, {name.decode() for name in connection._prepared._names.values()}


def _run(connection: DeadlineConnection, query: str, params: Any) -> Any:
    cursor = connection.cursor()
    cursor.execute(query, params)
    return cursor.fetchall() if cursor.description else cursor.rowcount


def test_a_statement_that_fails_where_it_is_first_prepared(database_url: str) -> None:
    """``BEGIN``, ``Parse`` and the statement in one pipeline; the statement fails."""
    with lean_connection(database_url, prepare_threshold=0) as connection:
        connection.execute("CREATE TEMP TABLE kp_p (k int PRIMARY KEY)", prepare=False)
        connection.execute("INSERT INTO kp_p VALUES (1)", prepare=False)
        connection.commit()
        insert = "INSERT INTO kp_p (k) VALUES (%(k)s)"
        with pytest.raises(psycopg.errors.UniqueViolation):
            _run(connection, insert, {"k": 1})
        connection.rollback()
        server, manager = _in_step(connection)
        assert server == manager
        assert _run(connection, insert, {"k": 2}) == 1
        connection.commit()
        server, manager = _in_step(connection)
        assert server == manager and len(server) == 1


def test_a_commit_that_fails_with_the_statement_being_prepared(database_url: str) -> None:
    """The statement and ``COMMIT`` in one pipeline (commit_ahead); ``COMMIT`` fails."""
    with lean_connection(database_url) as connection:
        connection.execute(
            "CREATE TEMP TABLE kp_p (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)", prepare=False
        )
        connection.commit()
        insert = "INSERT INTO kp_p (k) VALUES (%(k)s)"
        threshold = connection.prepare_threshold or 0
        for k in range(threshold + 2):
            connection.__dict__[AHEAD] = COMMIT_NEXT
            if k < threshold:
                _run(connection, insert, {"k": k})
            else:  # psycopg prepares it now: Parse, the statement, COMMIT
                with pytest.raises(psycopg.errors.UniqueViolation):
                    _run(connection, insert, {"k": 0})
            connection.rollback()
            server, manager = _in_step(connection)
            assert server == manager
        assert manager
        connection.__dict__[AHEAD] = COMMIT_NEXT
        assert _run(connection, insert, {"k": 99}) == 1
        connection.commit()
        assert _in_step(connection)[0] == manager


def test_a_later_statement_that_fails_to_parse_in_execute_together(database_url: str) -> None:
    """Two statements prepared in one pipeline: the first parses and runs, the second's
    ``Parse`` fails (its table was dropped by another session)."""
    with lean_connection(database_url) as connection, lean_connection(database_url) as other:
        connection.execute("CREATE TABLE kp_gone (k int)", prepare=False)
        connection.commit()
        calls = [
            (connection.cursor(), "SELECT %(a)s::int AS a", {"a": 1}),
            (connection.cursor(), "SELECT count(*) FROM kp_gone WHERE k = %(k)s", {"k": 1}),
        ]
        for _ in range(connection.prepare_threshold or 0):
            execute_together(connection, calls)
            connection.commit()
        assert not connection._prepared._names
        other.execute("DROP TABLE kp_gone")
        other.commit()
        with pytest.raises(psycopg.errors.UndefinedTable):
            execute_together(connection, calls)
        connection.rollback()
        server, manager = _in_step(connection)
        assert server == manager
        cursor = connection.cursor()
        cursor.execute(calls[0][1], {"a": 2})
        assert cursor.fetchall() == [(2,)]
        connection.commit()
        server, manager = _in_step(connection)
        assert server == manager


def test_statements_skipped_after_a_failure_prepare_nothing(database_url: str) -> None:
    """Two statements prepared in one pipeline (autocommit: no rollback clears anything):
    the first fails, so the server skips the second's ``Parse``; the manager must not
    take the second for prepared (a later run would name a statement that does not exist)."""
    with lean_connection(database_url, autocommit=True) as connection:
        first = (connection.cursor(), "SELECT 1 / %(z)s::int", {"z": 1})
        second = (connection.cursor(), "SELECT %(b)s::text", {"b": "x"})
        for _ in range(connection.prepare_threshold or 0):
            execute_together(connection, [first, second])
        with pytest.raises(psycopg.errors.DivisionByZero):
            execute_together(connection, [(first[0], first[1], {"z": 0}), second])
        server, manager = _in_step(connection)
        assert server == manager and len(server) == 1
        execute_together(connection, [first, second])
        assert second[0].fetchall() == [("x",)]
        server, manager = _in_step(connection)
        assert server == manager and len(server) == 2
