"""Nothing reaches the server after ``COMMIT`` rode with the last statement, by any path.

Once :mod:`gateway.storage.commit_ahead` sent ``COMMIT`` with a transaction's last
statement, a further statement on that connection would run outside the
transaction its caller thinks it is in (or open a new one). ``execute`` refused
it; every other way psycopg offers to send SQL on the same connection is held
to the same until the connection's ``commit()`` or ``rollback()``, and libpq's
trace shows that nothing was sent.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from psycopg import pq

from gateway.storage.pg_deadlines import DeadlineConnection
from gateway.storage.pg_execute import AHEAD, COMMIT_NEXT
from tests.support.pg_connect import lean_connection, libpq_trace

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

_INSERT = "INSERT INTO kp_after (n) VALUES (%s)"
_REFUSED = "committed with its last statement"


def _executemany(connection: DeadlineConnection) -> None:
    connection.cursor().executemany(_INSERT, [(2,), (3,)])


def _copy(connection: DeadlineConnection) -> None:
    with connection.cursor().copy("COPY kp_after (n) FROM STDIN") as copy:
        copy.write_row((2,))


def _stream(connection: DeadlineConnection) -> None:
    for _ in connection.cursor().stream("INSERT INTO kp_after (n) VALUES (%s) RETURNING n", (2,)):
        pass


def _connection_execute(connection: DeadlineConnection) -> None:
    connection.execute(_INSERT, (2,))


def _psycopgs_execute(connection: DeadlineConnection) -> None:
    connection.cursor().execute(_INSERT, (2,), prepare=True)  # psycopg's own execute


def _another_cursor_class(connection: DeadlineConnection) -> None:
    psycopg.ClientCursor(connection).execute(_INSERT, (2,))


def _server_cursor(connection: DeadlineConnection) -> None:
    with connection.cursor("kp_after_cursor") as cursor:
        cursor.execute("SELECT n FROM kp_after")
        cursor.fetchall()


def _transaction(connection: DeadlineConnection) -> None:
    with connection.transaction():
        connection.cursor().execute(_INSERT, (2,))


def _pipeline(connection: DeadlineConnection) -> None:
    with connection.pipeline():
        connection.cursor().execute(_INSERT, (2,))


def _two_phase(connection: DeadlineConnection) -> None:
    connection.tpc_begin(connection.xid(1, "kp_after", "one"))
    connection.cursor().execute(_INSERT, (2,))


PATHS: list[Callable[[DeadlineConnection], None]] = [
    _executemany,
    _copy,
    _stream,
    _connection_execute,
    _psycopgs_execute,
    _another_cursor_class,
    _server_cursor,
    _transaction,
    _pipeline,
    _two_phase,
]


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__.strip("_") for p in PATHS])
def test_every_path_is_refused_until_commit_or_rollback(
    database_url: str, path: Callable[[DeadlineConnection], None]
) -> None:
    with lean_connection(database_url) as connection:
        connection.execute("CREATE TABLE kp_after (n integer NOT NULL)")
        connection.commit()
        connection.__dict__[AHEAD] = COMMIT_NEXT
        connection.cursor().execute(_INSERT, (1,))  # and COMMIT
        assert connection.info.transaction_status == pq.TransactionStatus.IDLE
        refused = pytest.raises(psycopg.ProgrammingError, match=_REFUSED)
        with libpq_trace(connection) as trace, refused:
            path(connection)
        assert [line for line in trace if line.startswith("F")] == []
        assert connection._pipeline is None
        connection.rollback()  # ends it: usable again
        if path is not _two_phase:  # (a two-phase transaction ends by tpc_commit)
            path(connection)
        connection.commit()
        rows = [row[0] for row in connection.execute("SELECT n FROM kp_after ORDER BY n")]
        assert rows[0] == 1
        assert len(rows) > 1 or path in (_server_cursor, _two_phase)
