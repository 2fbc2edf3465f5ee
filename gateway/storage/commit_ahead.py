"""``COMMIT`` in the round trip of a transaction's last statement (PostgreSQL).

A unit of work on the query path ends with a statement and then its commit:
two round trips, ~110 µs of gateway CPU each (issue 16). Where the caller
knows that a statement is the last of its transaction, the statement and
``COMMIT`` go to the server in one pipeline with one ``Sync``
(:class:`~gateway.storage.pg_execute.LeanCursor`); the transaction's own
commit afterwards finds it ended and sends nothing.

What stays as it was:

* the call returns only once the server answered ``COMMIT``: an audit entry
  written by the statement is durable before anything that follows it, as
  with a commit of its own;
* a failed statement aborts the pipeline: the server skips the ``COMMIT``,
  the statement's error is raised and the transaction is rolled back as
  before; a failed ``COMMIT`` (the server rolled back) raises its error from
  the statement, wrapped by SQLAlchemy like any statement's error (so the
  same fail-closed 503s), and a lost connection is invalidated;
* once the ``COMMIT`` was sent, anything further on the connection (a
  statement by ``execute`` or any other of psycopg's ways: ``executemany``,
  ``copy``, ``stream``, a server-side cursor, ``transaction()``,
  ``pipeline()``) is refused until the transaction is ended by its commit or
  rollback: nothing can run outside the transaction it was written for.

It is only used where it cannot change what commits: with the ORM Session of
:meth:`~gateway.storage.db.Database.transaction` unused (no pending ORM work
to flush at commit, no commit listeners), on our PostgreSQL engine. Anywhere
else (SQLite, psycopg's own cursor, a statement the lean cursor leaves to
psycopg) the block changes nothing and the commit goes as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.storage.connection_of import connection_of
from gateway.storage.db import session_in_use
from gateway.storage.pg_deadlines import DeadlineConnection
from gateway.storage.pg_execute import AHEAD, COMMIT_NEXT


class commit_with_last:  # noqa: N801 - used as a context manager, like contextlib's
    """Run the transaction's last statement inside: on PostgreSQL ``COMMIT`` rides with it.

    ``with commit_with_last(session) as ahead:`` — ``ahead`` says whether it will
    (tests). The block must hold the transaction's last statement and nothing
    after it that may fail for a reason of its own. (A class, not a generator:
    it runs twice per brokered query.)
    """

    __slots__ = ("_driver",)

    def __init__(self, session: Session) -> None:
        self._driver: DeadlineConnection | None = None
        connection = connection_of(session)
        if connection.dialect.name != "postgresql" or session_in_use(session):
            return
        driver = connection.connection.dbapi_connection
        if isinstance(driver, DeadlineConnection) and AHEAD not in driver.__dict__:
            self._driver = driver

    def __enter__(self) -> bool:
        driver = self._driver
        if driver is None:
            return False
        driver.__dict__[AHEAD] = COMMIT_NEXT
        return True

    def __exit__(self, *_exc: Any) -> None:
        # No statement took it (none ran, or psycopg's own execute ran it): the
        # transaction's commit goes as before.
        driver = self._driver
        if driver is not None and driver.__dict__.get(AHEAD) is COMMIT_NEXT:
            del driver.__dict__[AHEAD]
