"""One consistent, read-only view of the database for checks that read many tables.

``audit verify`` reads the head, the checkpoints, every entry, every subtree
and the subject index. Read in separate transactions while the gateway keeps
appending, the head may say 3326 while the table already holds 3361 entries:
a false tamper alarm. Inside one snapshot every append is either wholly
visible (head, entries, subtrees, keys and index rows commit together) or not
at all, so a difference is real.

PostgreSQL: a ``REPEATABLE READ READ ONLY`` transaction; its snapshot is taken
at the first statement and held to the end, and it never blocks writers.
SQLite (WAL mode): an explicit ``BEGIN``; the first read fixes the snapshot
(WAL end mark) for the whole transaction, and writers keep appending to the WAL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.storage.db import Database

_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")


@contextmanager
def read_snapshot(db: Database, *, shared: str | None = None) -> Iterator[Session]:
    """A session whose every query sees the same committed state; it writes nothing.

    ``shared``: on PostgreSQL, a snapshot id from :func:`export_snapshot` in
    another session, so that worker processes read exactly what it reads.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            if shared is not None:
                if not _SNAPSHOT_ID.fullmatch(shared):
                    raise ValueError("not a PostgreSQL snapshot id")
                connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{shared}'")
        else:
            # pysqlite only opens a transaction before DML, so each SELECT would
            # otherwise see the newest commit: open the read transaction ourselves.
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection, autoflush=False)
        try:
            yield session
        finally:
            session.close()
            connection.rollback()


def export_snapshot(session: Session) -> str | None:
    """PostgreSQL: an id other sessions can adopt (valid while this one is open); else ``None``."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return str(session.scalar(text("SELECT pg_export_snapshot()")))
