"""Exactly one retention runner at a time, across every gateway instance.

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection
held for the whole run; if the process dies, the connection drops and so does
the lock. SQLite serves one instance, but the CLI may run next to ``serve``:
a process-local lock plus a lease row in ``gateway_state`` whose claim is one
atomic ``UPDATE`` (the row is taken only if free, expired, or already ours).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, or_, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.storage.db import Database
from gateway.storage.state import GatewayState

RETENTION_LOCK_ID = 0x4B50_5245_5445  # "KPRETE"
LEASE_NAME = "retention.lease"
LEASE_TTL = timedelta(minutes=10)
FREE = "-"

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _local_lock(url: str) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault(url, threading.Lock())


class LeaseLost(RuntimeError):
    """The run lock is no longer ours: another runner may be working; stop at once."""


class RunLock:
    """``with lock.hold() as mine:`` — ``mine`` is False when another runner has it."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.owner = secrets.token_hex(8)
        self._connection: Connection | None = None

    @contextmanager
    def hold(self) -> Iterator[bool]:
        if self._db.is_postgresql:
            with self._advisory() as mine:
                yield mine
            return
        local = _local_lock(self._db.url)
        if not local.acquire(blocking=False):
            yield False
            return
        try:
            if not self._claim():
                yield False
                return
            try:
                yield True
            finally:
                self._release()
        finally:
            local.release()

    def renew(self) -> bool:
        """Whether the lock is still ours; the SQLite lease is extended by another TTL.

        Called before each batch and each feed page, so no work starts on a lease
        that expired (a source slow for 10 minutes let a second runner claim it
        while the first went on). PostgreSQL: the advisory lock lives as long as
        its connection, so the lock is ours while that connection still answers.
        """
        if not self._db.is_postgresql:
            return self._claim()
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except SQLAlchemyError:
            return False
        return True

    def keep(self) -> None:
        """:meth:`renew`, raising :class:`LeaseLost` when the lock is gone."""
        if not self.renew():
            raise LeaseLost("the retention run lock was lost")

    @contextmanager
    def _advisory(self) -> Iterator[bool]:
        connection: Connection = self._db.engine.connect()
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:id)"), {"id": RETENTION_LOCK_ID}
                ).scalar()
            )
            connection.commit()
            self._connection = connection if got else None
            try:
                yield got
            finally:
                self._connection = None
                if got:
                    self._unlock(connection)
        finally:
            connection.close()

    @staticmethod
    def _unlock(connection: Connection) -> None:
        """A dropped connection has released the lock already; nothing to undo then."""
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": RETENTION_LOCK_ID})
            connection.commit()
        except SQLAlchemyError:
            connection.invalidate()

    def _claim(self) -> bool:
        now = datetime.now(UTC)
        try:
            with self._db.session() as session:
                if session.get(GatewayState, LEASE_NAME) is None:
                    session.add(GatewayState(name=LEASE_NAME, value=FREE, updated_at=now))
        except IntegrityError:
            pass  # another process created it first; the UPDATE below decides
        with self._db.session() as session:
            claimed = session.execute(
                update(GatewayState)
                .where(
                    GatewayState.name == LEASE_NAME,
                    or_(
                        GatewayState.value == FREE,
                        GatewayState.value == self.owner,
                        GatewayState.updated_at < now - LEASE_TTL,
                    ),
                )
                .values(value=self.owner, updated_at=now)
            )
            return int(getattr(claimed, "rowcount", 0) or 0) == 1

    def _release(self) -> None:
        with self._db.session() as session:
            session.execute(
                update(GatewayState)
                .where(GatewayState.name == LEASE_NAME, GatewayState.value == self.owner)
                .values(value=FREE, updated_at=datetime.now(UTC))
            )
