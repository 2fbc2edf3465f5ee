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

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from gateway.storage.db import Database


@contextmanager
def read_snapshot(db: Database) -> Iterator[Session]:
    """A session whose every query sees the same committed state; it writes nothing."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
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
