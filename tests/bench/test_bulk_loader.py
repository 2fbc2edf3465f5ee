"""The benchmark's bulk loader writes exactly what ``write_batch`` writes, and a valid log.

The scale benchmark's figures are only worth something if its 10M-entry log is
one the gateway could have written: same bodies (byte for byte), leaf hashes,
subtrees, columns and head; and one ``audit verify`` accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bench.bulk_loader import BodyTemplate, BulkLoader, conninfo, reference_pending
from gateway.audit.core.fast_canonical import entry_bytes
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import build_entry, write_batch
from gateway.storage.db import Database
from tests.audit.conftest import event

MOMENT = datetime(2026, 12, 1, 4, 5, 6, 789012, tzinfo=UTC)
TABLES = (
    "SELECT seq, time, kind, outcome, party, purpose, case_id, convenant, leaf_hash, body "
    "FROM audit_entries ORDER BY seq",
    "SELECT level, idx, hash FROM audit_nodes ORDER BY level, idx",
    "SELECT size FROM audit_head",
)


def test_template_is_the_canonical_encoding() -> None:
    template = BodyTemplate(MOMENT)
    for seq, n in [(0, 0), (1, 1), (7, 5), (123_456, 9_999_999), (2**40, 2**33 + 7)]:
        expected = entry_bytes(build_entry(seq, reference_pending(n, MOMENT), None))
        assert template.body(seq, n) == expected


def _tables(db: Database) -> list[list[tuple[object, ...]]]:
    with db.engine.connect() as connection:
        return [[tuple(row) for row in connection.execute(text(sql))] for sql in TABLES]


def test_loader_rows_equal_write_batch(backend: str, db: Database, audit_log: AuditLog) -> None:
    if backend != "postgresql":
        pytest.skip("the bulk loader speaks PostgreSQL COPY")
    loader = BulkLoader(conninfo(db.url))
    try:
        loader.append(37, moment=MOMENT)
    finally:
        loader.close()
    loaded = _tables(db)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries"))
        connection.execute(text("DELETE FROM audit_nodes"))
        connection.execute(text("UPDATE audit_head SET size = 0"))
    with db.session() as session:
        batch = [reference_pending(n, MOMENT) for n in range(37)]
        write_batch(session, batch, audit_log.vault)
    assert loaded == _tables(db)
    assert len(loaded[0]) == 37 and len(loaded[1]) == 37 - (37).bit_count()


def test_loaded_log_verifies(
    backend: str, db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    if backend != "postgresql":
        pytest.skip("the bulk loader speaks PostgreSQL COPY")
    loader = BulkLoader(conninfo(db.url))
    try:
        loader.append(300)
        audit_log.append_sync([event(n) for n in range(5)])  # moves the head under the loader
        loader.append(1000, first_n=300)
        loader.append(333, first_n=1300)
        audit_log.append_sync([event(n) for n in range(3)])
    finally:
        loader.close()
    audit_log.checkpoint_now()
    jwks = signer.jwks()
    sequential = verify_database(db, jwks, vault=audit_log.vault)
    assert sequential.result.ok, sequential.result.problem
    assert sequential.head_size == 1641
    parallel = verify_database(db, jwks, vault=audit_log.vault, workers=2, slice_level=6)
    assert parallel.result.ok and parallel.head_size == 1641
