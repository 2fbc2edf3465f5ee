"""Engine and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL``: the audit log promises that
a committed entry survives a crash before any disclosure leaves, so the
commit must reach the disk. ``secure_delete=ON`` zeroes deleted content, so a
shredded data key leaves no copy in the file once checkpointed (``flush_erased``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sized
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import RootTransaction, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.storage.lean_pool import pool_class
from gateway.storage.pg_deadlines import postgresql_engine

log = logging.getLogger("ketenpoort.storage")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or written; callers fail closed."""


WAL_AUTOCHECKPOINT_PAGES = 10_000
"""Pages of WAL after which a committing connection checkpoints (SQLite's default: 1,000)."""

SECURE_DELETE = "ON"
"""Deleted content is overwritten with zeros, in b-tree pages and in freed pages.

Crypto-shredding sets ``wrapped`` to NULL; without it the old wrapped key stayed
in the page's free space in the database file (review-c F6). ``FAST`` zeroes only
within pages written anyway, which covers a key's own row, but not pages freed
whole (an erased person's index rows); ``ON`` does both (docs/security.md).
"""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA secure_delete={SECURE_DELETE}")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: the log's indexes stay in memory
    cursor.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint the WAL into the database file every ~40 MiB of frames, not every
    # ~4 MiB (SQLite's 1,000 pages): the audit log's index pages are dirtied by
    # nearly every commit, and a checkpoint writes each page once however many
    # commits wrote it to the WAL. A batch of 1,000 entries wrote ~2.8 pages
    # per entry, so the old threshold checkpointed (read back, wrote, synced the
    # database file) after every batch. Durability is the WAL's fsync at each
    # commit either way (docs/performance.md, "The append path, counted").
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def create_db_engine(url: str, *, timeout_s: float = 5.0) -> Engine:
    """Build an engine with the per-backend settings the gateway relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # No pre-ping: a local file has no connection to lose, and the ping was a
        # statement on every session of every query.
        engine = create_engine(
            url,
            connect_args={"timeout": timeout_s, "check_same_thread": False},
            poolclass=pool_class(),  # QueuePool, as SQLAlchemy picks for a file, on a leaner queue
            pool_timeout=timeout_s,  # a checkout waits as long as any database wait, not 30 s
            hide_parameters=True,  # parameters are data; never in error text or logs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return postgresql_engine(url, timeout_s)


_Listeners = tuple[Sized, Sized]


def _class_commit_listeners(session: Session) -> _Listeners | None:
    """The live lists of ``before_commit``/``after_commit`` listeners of ``session``'s class.

    Read from an unused Session of that class, whose dispatch shows only the
    class-level listeners (SQLAlchemy's ``_EmptyListener.parent_listeners``, the
    very list a later ``event.listen`` on the class or sessionmaker appends to).
    ``None`` when that attribute is not there (another SQLAlchemy): then every
    check asks the Session's own dispatch.
    """
    before = getattr(session.dispatch.before_commit, "parent_listeners", None)
    after = getattr(session.dispatch.after_commit, "parent_listeners", None)
    if before is None or after is None or session.dispatch.before_commit.listeners:
        return None
    return before, after


def _in_use(session: Session, class_listeners: _Listeners | None = None) -> bool:
    """Whether the Session has begun a transaction or waits for one to commit.

    A Session's instance-level dispatch is made (and kept in its ``__dict__``) the
    first time anything looks at it, e.g. to add an instance listener; one that
    never had it can only have class-level listeners, checked on their lists
    (``class_listeners``) without building a dispatch for every unit (~9 calls).
    """
    if session._transaction is not None:
        return True
    if class_listeners is not None and "dispatch" not in session.__dict__:
        return bool(class_listeners[0] or class_listeners[1])
    return bool(session.dispatch.before_commit or session.dispatch.after_commit)


session_in_use = _in_use  # also for gateway/storage/commit_ahead.py


class _Transaction:
    """:meth:`Database.transaction`'s context manager."""

    __slots__ = ("_connection", "_database", "_session", "_transaction")
    _database: Database  # set by Database.transaction

    def __enter__(self) -> Session:
        database = self._database
        connection = self._connection = database.engine.connect()
        try:
            self._transaction = connection.begin()
            self._session = database.sessions(
                bind=connection, join_transaction_mode="control_fully"
            )
        except BaseException:
            connection.close()
            raise
        return self._session

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, transaction = self._session, self._transaction
        listeners = self._database._commit_listeners
        used = False
        try:
            if kind is None:
                try:
                    used = _in_use(session, listeners)
                    if used:
                        session.connection()  # joins this transaction if it has not yet
                        session.commit()
                    else:
                        transaction.commit()
                except BaseException:
                    used = used or _in_use(session, listeners)
                    _roll_back(session, transaction, used)
                    raise
            else:  # the block's exception goes on as it was (None returned)
                used = _in_use(session, listeners)
                _roll_back(session, transaction, used)
        finally:
            if used:
                session.close()
            self._connection.close()


def _roll_back(session: Session, transaction: RootTransaction, used: bool) -> None:
    if used:
        session.rollback()
    if transaction.is_active:
        transaction.rollback()


class Database:
    """One engine and its session factory; shared by every capability."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url
        self.engine = create_db_engine(url, timeout_s=timeout_s)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._commit_listeners = _class_commit_listeners(self.sessions())

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def transaction(self) -> _Transaction:
        """:meth:`session` for the query path: the Session's machinery only if it is used.

        The connection and its transaction are begun here, and the Session is bound
        to that connection (``control_fully``: its commit or rollback is the
        transaction's). Core statements reach the connection without the Session
        (:func:`~gateway.storage.connection_of.connection_of`), so a unit that runs
        only those never begins an ORM transaction, and ends with the connection's
        own commit: no ORM transaction state, snapshot, flush check or identity-map
        teardown (~70 Python calls a unit, issue 16). Once the Session has begun
        (any ORM read or write, e.g. a new consent request) or has commit listeners,
        it commits, rolls back and closes as in :meth:`session`. Same connection,
        same transaction, same locks, same commit either way. A class rather than a
        ``@contextmanager`` generator (a query's plan and its audit group commit run
        in one each): ~3 Python calls a unit less.
        """
        unit = _Transaction.__new__(_Transaction)  # no __init__ call: one field to set
        unit._database = self
        return unit

    def flush_erased(self) -> bool:
        """After shredding keys: on SQLite, checkpoint the WAL and truncate it to nothing.

        With ``secure_delete`` the database file's pages no longer hold a shredded
        key once the new page versions are checkpointed into it; until then the
        WAL holds the old versions (and the new ones, zeroed). ``TRUNCATE`` copies
        every frame back and empties the WAL file (review-c F6). The erasure is
        committed before this runs: a failed or busy checkpoint undoes nothing, it
        is logged (the error type only) and the next checkpoint does it.
        PostgreSQL: nothing here (docs/security.md, known limits).
        """
        if self.engine.dialect.name != "sqlite":
            return True
        try:
            with self.engine.connect() as connection:
                row = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        except SQLAlchemyError as exc:
            log.warning("WAL checkpoint after erasure failed: %s", type(exc).__name__)
            return False
        if row is not None and row[0]:
            log.warning("WAL checkpoint after erasure failed: busy")
            return False
        return True

    def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless a trivial query succeeds."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(type(exc).__name__) from None

    def dispose(self) -> None:
        self.engine.dispose()
