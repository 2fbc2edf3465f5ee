"""Edits to the stored log or to an export are found, and the first bad seq named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from gateway.audit.checkpoints import latest_checkpoint
from gateway.audit.core.offline_verify import verify_export_file
from gateway.audit.integrity import export_log, verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    AuditNode,
    AuditSubjectIndex,
)
from gateway.audit.signer import Ed25519Signer
from gateway.storage.db import Database
from tests.audit.conftest import event

N = 40


@pytest.fixture
def filled(audit_log: AuditLog, signer: Ed25519Signer) -> AuditLog:
    for start in range(0, N, 10):
        audit_log.append_sync([event(n) for n in range(start, start + 10)])
        audit_log.checkpoint_now()
    return audit_log


def _body(db: Database, seq: int) -> str:
    with db.session() as session:
        return session.scalars(select(AuditEntry.body).where(AuditEntry.seq == seq)).one()


def _set_body(db: Database, seq: int, body: str) -> None:
    with db.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(body=body))


def test_untouched_log_verifies(filled: AuditLog, db: Database, signer: Ed25519Signer) -> None:
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert (outcome.result.entries, outcome.result.checkpoints) == (N, 4)


def test_modified_entry_is_named(filled: AuditLog, db: Database, signer: Ed25519Signer) -> None:
    _set_body(db, 17, _body(db, 17).replace('"outcome":"ok"', '"outcome":"no"'))
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq == 17


def test_modified_entry_and_leaf_hash_break_the_subtree(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    from gateway.audit.core.canonical import leaf_hash_of_bytes

    body = _body(db, 22).replace('"outcome":"ok"', '"outcome":"no"')
    _set_body(db, 22, body)
    with db.session() as session:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == 22)
            .values(leaf_hash=leaf_hash_of_bytes(body.encode()))
        )
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq in (22, 20)


def test_deleted_entry_is_named(filled: AuditLog, db: Database, signer: Ed25519Signer) -> None:
    with db.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 9))
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq == 9


def test_reordered_entries_are_named(filled: AuditLog, db: Database, signer: Ed25519Signer) -> None:
    five, six = _body(db, 5), _body(db, 6)
    _set_body(db, 5, six)
    _set_body(db, 6, five)
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq == 5


def test_truncated_tail_is_found(filled: AuditLog, db: Database, signer: Ed25519Signer) -> None:
    with db.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 35))
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq == 35


def test_truncated_tail_with_its_checkpoints_and_head_is_found(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    with db.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 35))
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.size > 30))
        session.execute(update(AuditHead).values(size=35))
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq == 35
    assert "beyond the head" in (result.problem or "")


def test_complete_truncation_is_found_against_a_published_head(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    with db.session() as session:
        published = latest_checkpoint(session)
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 30))
        for level in range(1, 6):
            session.execute(
                delete(AuditNode).where(AuditNode.level == level, AuditNode.idx >= 30 >> level)
            )
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.size > 30))
        # A complete cut also drops the tail's index rows (which verify would otherwise find).
        session.execute(delete(AuditSubjectIndex).where(AuditSubjectIndex.seq >= 30))
        session.execute(update(AuditHead).values(size=30))
    assert verify_database(db, signer.jwks()).result.ok
    result = verify_database(db, signer.jwks(), expected_head=published).result
    assert not result.ok
    assert result.first_bad_seq == 30


def test_damaged_inner_subtree_is_found(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    with db.session() as session:
        session.execute(
            update(AuditNode)
            .where(AuditNode.level == 2, AuditNode.idx == 3)
            .values(hash=b"\x00" * 32)
        )
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert result.first_bad_seq == 12


def test_forged_checkpoint_signature_is_found(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    with db.session() as session:
        session.execute(
            update(AuditCheckpoint)
            .where(AuditCheckpoint.size == 20)
            .values(time="2020-01-01T00:00:00Z")
        )
    result = verify_database(db, signer.jwks()).result
    assert not result.ok
    assert "signature" in (result.problem or "")


def _export(db: Database, tmp_path: Path) -> list[bytes]:
    path = tmp_path / "audit.jsonl"
    with path.open("wb") as out:
        assert export_log(db, out) == N
    return path.read_bytes().splitlines(keepends=True)


def _verify_lines(lines: list[bytes], tmp_path: Path, signer: Ed25519Signer) -> object:
    path = tmp_path / "edited.jsonl"
    path.write_bytes(b"".join(lines))
    return verify_export_file(path, signer.jwks())


def _entry_index(lines: list[bytes], seq: int) -> int:
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if obj["type"] == "entry" and obj["entry"]["seq"] == seq:
            return i
    raise AssertionError(seq)


def test_export_verifies_offline(
    filled: AuditLog, db: Database, signer: Ed25519Signer, tmp_path: Path
) -> None:
    result = _verify_lines(_export(db, tmp_path), tmp_path, signer)
    assert result.ok, result.problem  # type: ignore[attr-defined]
    assert result.verified_size == N  # type: ignore[attr-defined]


@pytest.mark.parametrize("edit", ["modify", "delete", "reorder", "truncate"])
def test_edited_export_names_the_first_bad_seq(
    filled: AuditLog, db: Database, signer: Ed25519Signer, tmp_path: Path, edit: str
) -> None:
    lines = _export(db, tmp_path)
    i = _entry_index(lines, 13)
    if edit == "modify":
        lines[i] = lines[i].replace(b'"party":"politie"', b'"party":"gemeente"')
        expected = 13
    elif edit == "delete":
        del lines[i]
        expected = 13
    elif edit == "reorder":
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        expected = 13
    else:
        lines = lines[: _entry_index(lines, 33)]
        expected = 30  # the last checkpoint went with the tail: 30.. is unsigned
    result = _verify_lines(lines, tmp_path, signer)
    assert not result.ok  # type: ignore[attr-defined]
    assert result.first_bad_seq == expected  # type: ignore[attr-defined]


def test_truncated_export_is_named_exactly_against_the_published_head(
    filled: AuditLog, db: Database, signer: Ed25519Signer, tmp_path: Path
) -> None:
    lines = _export(db, tmp_path)
    with db.session() as session:
        published = latest_checkpoint(session)
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b"".join(lines[: _entry_index(lines, 33)]))
    result = verify_export_file(path, signer.jwks(), expected_head=published)
    assert not result.ok
    assert result.first_bad_seq == 33
