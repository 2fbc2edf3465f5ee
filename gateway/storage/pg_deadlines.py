"""PostgreSQL connections on which no wait outlasts ``db_timeout_s``.

A request must get its 503 in time when the database is gone, slow or frozen
(docs/operations.md, "When the database fails"). Each wait has its own bound:

* pool checkout: ``pool_timeout``;
* connecting: ``connect_timeout`` (a frozen postmaster still completes the TCP
  handshake in the kernel, so only the client's own timer notices);
* a statement or lock wait on a live server: ``statement_timeout`` and
  ``lock_timeout``, enforced by PostgreSQL itself (the connection stays usable);
* a server that stopped answering altogether (SIGSTOP, a hung host, a cut
  network): TCP keepalives and ``tcp_user_timeout`` catch a dead peer on a real
  network, but on one host the kernel keeps acknowledging a frozen process, so
  every wait of the driver is bounded as well (:class:`DeadlineConnection`).
  A connection whose wait expired is in an unknown protocol state: it is
  closed, which makes SQLAlchemy invalidate it and the pool behind it;
* the liveness check on checkout (what ``pool_pre_ping`` did) gets a short
  bound of its own, so that a pooled connection to a frozen server costs a
  fraction of the budget before a fresh connect is tried.

The liveness check is a round trip only where it can tell something: a
connection that came back to the pool less than ``fresh_s`` ago, idle and
healthy as far as libpq knows, with nothing waiting on its socket, is handed
out as it is. A server that restarted or ended the backend closed the socket
(or sent its FATAL first), which makes it readable: such a connection still
gets the ping, fails it and takes the pool with it, as before. What only a
round trip would find, a peer that vanished without a word, does not happen
to a connection that finished a round trip a moment ago; one idle longer is
pinged. Under load every checkout is such a moment-old connection, so the
ping was one round trip per transaction, two per brokered query (issue 16).
The pool hands out the most recently returned connection first (LIFO), so a
lightly loaded gateway keeps reusing a warm connection (and its prepared
statements) instead of cycling through idle ones that then need a ping.
"""

from __future__ import annotations

import select
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry

from gateway.storage import pg_arrays
from gateway.storage.lean_pool import pool_class
from gateway.storage.pg_cursor import LazyDescriptionCursor
from gateway.storage.pg_execute import (
    AHEAD,
    ENDED,
    INTERNALS_MATCH,
    REFUSED,
    LeanCursor,
    execute_together,
)

# A server-side timeout answers first on a live server; the client's own bound
# is only a little longer so that it catches a frozen one.
CLIENT_MARGIN_S = 0.25
PING_SHARE = 0.25
PING_MAX_S = 1.0
# A connection back in the pool for less than this, with nothing on its socket,
# is not pinged on checkout: it finished a round trip that recently.
FRESH_S = 1.0
_RETURNED = "ketenpoort.returned_at"
_OK = pq.ConnStatus.OK
_IDLE = pq.TransactionStatus.IDLE


class DatabaseDeadlineExceeded(psycopg.OperationalError):
    """The server did not answer within the deadline; the connection was closed."""


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait is bounded by :attr:`wait_timeout_s`."""

    wait_timeout_s: float | None = None
    lock_timeout_ms: int | None = None
    """The ``lock_timeout`` the connection was opened with (its options), if ours."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """psycopg's wait, bounded; refused after a ``COMMIT`` sent with the last statement.

        Every way psycopg sends something on the connection (``execute``,
        ``executemany``, ``copy``, ``stream``, a server-side cursor, ``transaction()``,
        ``pipeline()``, two-phase commit, another cursor class) runs a generator
        through here before it sends anything; until :meth:`commit` or
        :meth:`rollback`, none may run outside the transaction it was written for.
        (libpq itself, ``pgconn``, is below this and not held.)
        """
        if self.__dict__.get(AHEAD) is ENDED:
            raise pg_errors.ProgrammingError(REFUSED)
        if timeout is None:
            timeout = self.wait_timeout_s
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except pg_errors._WaitTimeout:
            # Mid-protocol: the connection cannot be reused, and a cancel request
            # would go to the same unresponsive server.
            self.pgconn.finish()
            raise DatabaseDeadlineExceeded("database did not answer in time") from None

    def commit(self) -> None:
        """psycopg's; after a ``COMMIT`` sent with the last statement (the connection is
        then idle) psycopg sends nothing, and statements may run again."""
        self.__dict__.pop(AHEAD, None)
        super().commit()

    def rollback(self) -> None:
        """psycopg's; also ends a transaction committed with its last statement."""
        self.__dict__.pop(AHEAD, None)
        super().rollback()

    def execute_together(self, calls: Sequence[tuple[Any, str, Any]]) -> None:
        """Each of our cursors runs its query; with :class:`LeanCursor` all in one round
        trip (:func:`~gateway.storage.pg_execute.execute_together`)."""
        if self.cursor_factory is LeanCursor and all(type(c[0]) is LeanCursor for c in calls):
            execute_together(self, calls)
            return
        for cursor, query, params in calls:
            cursor.execute(query, params)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        """A :class:`LeanCursor` made in one call when asked for plainly (as SQLAlchemy does)."""
        if args or kwargs or self.cursor_factory is not LeanCursor or self.pgconn.status != _OK:
            return super().cursor(*args, **kwargs)
        return LeanCursor.fresh(self)

    def quiet(self) -> bool:
        """Idle and healthy as libpq sees it, and nothing from the server on the socket.

        No round trip: a server that closed the connection (restart, terminated
        backend) left an end-of-file or its error message to read, which this sees.
        """
        pgconn = self.pgconn
        if (
            pgconn.status != pq.ConnStatus.OK
            or pgconn.transaction_status != pq.TransactionStatus.IDLE
        ):
            return False
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)  # POLLERR/POLLHUP always reported
            return not poller.poll(0)
        except (OSError, psycopg.Error):
            return False

    def ping(self, timeout_s: float) -> None:
        """A trivial round trip within ``timeout_s``; on any failure the connection is closed."""
        previous, self.wait_timeout_s = self.wait_timeout_s, timeout_s
        autocommit = self.autocommit
        try:
            if not autocommit:
                self.autocommit = True
            self.execute(";")
            if not autocommit:
                self.autocommit = False
        except psycopg.Error:
            if not self.closed:
                self.pgconn.finish()
            raise
        finally:
            self.wait_timeout_s = previous


def lock_timeout_millis(timeout_s: float) -> int:
    """``timeout_s`` as PostgreSQL's ``statement_timeout``/``lock_timeout`` in ms."""
    return max(1, int(timeout_s * 1000))


def connect_args(timeout_s: float, url_options: str = "") -> dict[str, Any]:
    """libpq parameters: connect, keepalive and server-side statement/lock bounds.

    ``options`` here would replace one given in the URL (e.g. a ``search_path``),
    so the URL's own options come first and the timeouts are appended.
    """
    millis = lock_timeout_millis(timeout_s)
    idle = max(1, int(timeout_s))
    return {
        # libpq and psycopg round up to whole seconds, at least 2.
        "connect_timeout": max(2, round(timeout_s)),
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": millis,
        "options": f"{url_options} -c statement_timeout={millis} -c lock_timeout={millis}".strip(),
    }


def postgresql_engine(url: str, timeout_s: float, *, fresh_s: float = FRESH_S) -> Engine:
    """A pooled engine whose checkout, connect, statement and lock waits are all bounded.

    ``fresh_s``: how recently a pooled connection must have been returned to be
    handed out without a ping (when it is also :meth:`DeadlineConnection.quiet`).
    """
    options = make_url(url).query.get("options", "")
    url_options = options if isinstance(options, str) else " ".join(options)
    engine = create_engine(
        url,
        hide_parameters=True,  # parameters are data; never in error text or logs
        pool_size=10,
        max_overflow=20,
        pool_timeout=timeout_s,
        pool_use_lifo=True,
        poolclass=pool_class(),  # QueuePool on a leaner queue (lean_pool.py)
        pool_reset_on_return=None,  # the "reset" listener below rolls back instead
        connect_args=connect_args(timeout_s, url_options),
    )
    client_deadline = timeout_s + CLIENT_MARGIN_S
    lock_timeout_ms = lock_timeout_millis(timeout_s)
    ping_s = min(PING_MAX_S, timeout_s * PING_SHARE)

    @event.listens_for(engine, "do_connect")
    def _connect(
        _dialect: Any, record: ConnectionPoolEntry, cargs: Any, cparams: Any
    ) -> DeadlineConnection:
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.wait_timeout_s = client_deadline
        connection.lock_timeout_ms = lock_timeout_ms
        # psycopg's own (lazy-description) cursor if its internals are not the ones
        # LeanCursor was written against (pg_execute.INTERNALS_MATCH).
        connection.cursor_factory = LeanCursor if INTERNALS_MATCH else LazyDescriptionCursor
        pg_arrays.register(connection)
        record.info["fresh"] = True
        return connection

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, _record: ConnectionPoolEntry, _state: Any) -> None:
        # What reset_on_return="rollback" does, without its layers (and psycopg's
        # rollback machinery) for a connection libpq already reports idle: every
        # committed transaction comes back so. In a transaction, failed, closed or
        # broken, it is rolled back as before; a rollback that raises makes the pool
        # invalidate the connection, as before.
        if dbapi_connection.pgconn.transaction_status != _IDLE:
            dbapi_connection.rollback()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        # What pool_pre_ping does, with a short bound: after a restart the stale
        # connections are dropped (the whole pool with them) and a fresh one made.
        if record.info.pop("fresh", False):
            return
        returned = record.info.get(_RETURNED)
        if (
            returned is not None
            and time.monotonic() - returned < fresh_s
            and dbapi_connection.quiet()
        ):
            return
        try:
            dbapi_connection.ping(ping_s)
        except DatabaseDeadlineExceeded:
            # Slow or frozen: drop this connection; a connect attempt decides the rest.
            raise DisconnectionError("database did not answer the ping in time") from None
        except psycopg.Error:
            # Gone (e.g. restarted): every pooled connection is as stale as this one.
            raise InvalidatePoolError("database connection lost") from None

    return engine
