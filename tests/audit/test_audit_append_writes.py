"""What an append writes besides its rows, counted: the secondary indexes it updates.

On SQLite an append's commit cost is mostly pages: every index whose order is not
the log's (a pseudonym, a case id, a random key id) takes about one page write per
entry, once into the WAL and once more at the checkpoint. The index set is pinned
here, so a new one is a decision (and a figure in docs/performance.md), not a
side effect. The key-id index went in migration 0012_auditappend: erasure now
deletes a key's index rows by its pseudonym, the primary key's prefix, and still
removes every one of them (tested below and in test_audit_erasure_search.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, inspect, select

from gateway.audit.erasure import erase_subject
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditDataKey, AuditSubjectIndex
from gateway.audit.signer import Ed25519Signer
from gateway.retention.shredding import shred_keys
from gateway.storage.db import WAL_AUTOCHECKPOINT_PAGES, Database
from tests.audit.conftest import SUBJECT_A, SUBJECT_B, event

# Every secondary index an append writes, by table (primary keys not included).
APPEND_INDEXES = {
    "audit_entries": {
        ("time",),
        ("party", "seq"),
        ("case_id",),
        ("convenant", "seq"),
    },
    "audit_nodes": set(),
    "audit_subject_index": {("seq",)},
}


def test_an_append_writes_these_indexes_and_no_more(db: Database) -> None:
    inspector = inspect(db.engine)
    found = {
        table: {tuple(index["column_names"]) for index in inspector.get_indexes(table)}
        for table in APPEND_INDEXES
    }
    assert found == APPEND_INDEXES


@contextmanager
def deletes(db: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM AUDIT_SUBJECT_INDEX"):
            seen.append((statement, parameters))

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)


def _plan(db: Database, statement: str, parameters: Any) -> str:
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " | ".join(str(row[-1]) for row in rows)


def _index_rows(db: Database, pseudonym: str) -> int:
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).where(AuditSubjectIndex.pseudonym == pseudonym))
            or 0
        )


def test_erasure_deletes_every_index_row_by_the_primary_key(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    audit_log.append_sync([event(n) for n in range(24)])
    with deletes(db) as seen:
        counts = erase_subject(db, SUBJECT_A, case="c-1")
    assert counts.index_rows_deleted == 4
    if not db.is_postgresql:
        [(statement, parameters)] = seen
        plan = _plan(db, statement, parameters)
        assert "PRIMARY KEY" in plan or "sqlite_autoindex_audit_subject_index" in plan, plan
        assert "SCAN" not in plan, plan

    with db.session() as session:
        keys = list(
            session.scalars(
                select(AuditDataKey.key_id).where(AuditDataKey.subject_pseudonym == SUBJECT_B)
            )
        )
        with deletes(db) as seen:
            shredded = shred_keys(session, keys, datetime.now(UTC))
    assert shredded.index_rows == 12
    assert _index_rows(db, SUBJECT_B) == 0
    assert _index_rows(db, SUBJECT_A) == 8  # its cases c-0 and c-2
    if not db.is_postgresql:
        [(statement, parameters)] = seen
        plan = _plan(db, statement, parameters)
        assert "SCAN" not in plan, plan
    audit_log.checkpoint_now()
    assert verify_database(db, signer.jwks()).result.ok


def test_shredding_an_erased_key_again_deletes_nothing(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(n) for n in range(6)])
    with db.session() as session:
        keys = list(session.scalars(select(AuditDataKey.key_id)))
        assert shred_keys(session, keys, datetime.now(UTC)).index_rows == 6
    with db.session() as session:
        assert shred_keys(session, keys, datetime.now(UTC)).index_rows == 0


def test_sqlite_checkpoints_the_wal_every_10000_pages(db: Database) -> None:
    if db.is_postgresql:
        return
    with db.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == WAL_AUTOCHECKPOINT_PAGES == 10_000
