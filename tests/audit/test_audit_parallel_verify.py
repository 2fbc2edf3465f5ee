"""The multi-process verify pass accepts an intact log and has doubts about every tampering.

Slices of 4 entries (``slice_level=2``) over a 40-entry log with checkpoints at
10, 20, 30 and 40, so checkpoints fall inside slices and subtrees span slices.
For each edit the tamper tests make, the fast pass must answer ``None`` (so
:func:`verify_database` runs the sequential check), and ``verify_database``
with workers must name the same first bad seq as without.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update

from gateway.audit.checkpoints import latest_checkpoint
from gateway.audit.core.canonical import leaf_hash_of_bytes
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    AuditNode,
    AuditSubjectIndex,
)
from gateway.audit.parallel_verify import verify_database_parallel
from gateway.audit.signer import Ed25519Signer
from gateway.storage.db import Database
from tests.audit.conftest import event

N = 40
LEVEL = 2


@pytest.fixture
def filled(audit_log: AuditLog) -> AuditLog:
    for start in range(0, N, 10):
        audit_log.append_sync([event(n) for n in range(start, start + 10)])
        audit_log.checkpoint_now()
    return audit_log


def fast(db: Database, signer: Ed25519Signer, **kwargs: object) -> object:
    return verify_database_parallel(db, signer.jwks(), workers=2, slice_level=LEVEL, **kwargs)  # type: ignore[arg-type]


def test_an_intact_log_passes_with_the_sequential_figures(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    seen: list[int] = []
    outcome = verify_database_parallel(db, signer.jwks(), seen.append, workers=2, slice_level=LEVEL)
    assert outcome is not None
    result, size = outcome
    sequential = verify_database(db, signer.jwks()).result
    assert result.ok and sequential.ok
    assert (result.entries, result.checkpoints, result.verified_size, size) == (
        sequential.entries,
        sequential.checkpoints,
        sequential.verified_size,
        N,
    )
    assert seen == list(range(4, N + 1, 4))
    # An unsigned tail is allowed, as in the sequential check.
    filled.append_sync([event(1), event(2)])
    assert fast(db, signer) is not None


def _flip_leaf_byte(db: Database) -> None:
    with db.session() as session:
        leaf = session.scalars(select(AuditEntry.leaf_hash).where(AuditEntry.seq == 13)).one()
        changed = bytes([leaf[0] ^ 1]) + bytes(leaf[1:])
        session.execute(update(AuditEntry).where(AuditEntry.seq == 13).values(leaf_hash=changed))


def _flip_body_byte(db: Database) -> None:
    with db.session() as session:
        body = session.scalars(select(AuditEntry.body).where(AuditEntry.seq == 17)).one()
        at = body.index('"purpose":"') + len('"purpose":"')
        changed = body[:at] + chr(ord(body[at]) ^ 1) + body[at + 1 :]
        session.execute(update(AuditEntry).where(AuditEntry.seq == 17).values(body=changed))


def _body_and_leaf(db: Database) -> None:
    with db.session() as session:
        body = session.scalars(select(AuditEntry.body).where(AuditEntry.seq == 22)).one()
        body = body.replace('"outcome":"ok"', '"outcome":"no"')
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == 22)
            .values(body=body, outcome="no", leaf_hash=leaf_hash_of_bytes(body.encode()))
        )


def _statement(sql: str) -> Callable[[Database], None]:
    def run(db: Database) -> None:
        with db.session() as session:
            session.execute(text(sql))

    return run


def _zero_node(level: int, idx: int) -> Callable[[Database], None]:
    def run(db: Database) -> None:
        with db.session() as session:
            session.execute(
                update(AuditNode)
                .where(AuditNode.level == level, AuditNode.idx == idx)
                .values(hash=b"\x00" * 32)
            )

    return run


def _shift_time(db: Database) -> None:
    """One microsecond later: the column no longer says the body's ``time``."""
    with db.session() as session:
        moment = session.scalar(select(AuditEntry.time).where(AuditEntry.seq == 22))
        assert moment is not None
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == 22)
            .values(time=moment + timedelta(microseconds=1))
        )


TAMPERING: dict[str, Callable[[Database], None]] = {
    "leaf hash byte": _flip_leaf_byte,
    "body byte": _flip_body_byte,
    "body and leaf hash": _body_and_leaf,
    "deleted entry": _statement("DELETE FROM audit_entries WHERE seq = 9"),
    "subtree inside a slice": _zero_node(1, 5),
    "subtree above the slices": _zero_node(3, 2),
    "deleted subtree": _statement("DELETE FROM audit_nodes WHERE level = 2 AND idx = 7"),
    "derived column": _statement("UPDATE audit_entries SET kind = 'decision' WHERE seq = 31"),
    "time column": _shift_time,
    "case column emptied": _statement("UPDATE audit_entries SET case_id = NULL WHERE seq = 12"),
    "deleted index row": _statement("DELETE FROM audit_subject_index WHERE seq = 26"),
    "forged checkpoint": _statement(
        "UPDATE audit_checkpoints SET time = '2020-01-01T00:00:00Z' WHERE size = 20"
    ),
    "index row past the head": _statement(
        "INSERT INTO audit_subject_index (pseudonym, seq, key_id) VALUES ('p', 99, 'dk-x')"
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_every_tampering_leaves_the_fast_pass_in_doubt(
    filled: AuditLog, db: Database, signer: Ed25519Signer, name: str
) -> None:
    TAMPERING[name](db)
    assert fast(db, signer) is None


@pytest.mark.parametrize("name", ["body byte", "leaf hash byte", "time column"])
def test_with_workers_the_first_bad_seq_is_named_as_without(
    filled: AuditLog, db: Database, signer: Ed25519Signer, name: str
) -> None:
    TAMPERING[name](db)
    sequential = verify_database(db, signer.jwks()).result
    with_workers = verify_database(db, signer.jwks(), workers=2, slice_level=LEVEL).result
    assert not sequential.ok
    assert with_workers == sequential
    assert with_workers.first_bad_seq == {"body byte": 17, "leaf hash byte": 13}.get(name, 22)


def test_a_cut_with_its_checkpoints_and_subtrees_fails_against_the_published_head(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    with db.session() as session:
        published = latest_checkpoint(session)
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 32))
        for level in range(1, 6):
            session.execute(
                delete(AuditNode).where(AuditNode.level == level, AuditNode.idx >= 32 >> level)
            )
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.size > 30))
        session.execute(delete(AuditSubjectIndex).where(AuditSubjectIndex.seq >= 32))
        session.execute(update(AuditHead).values(size=32))
    assert fast(db, signer) is not None  # consistent in itself
    assert fast(db, signer, expected_head=published) is None
    result = verify_database(
        db, signer.jwks(), expected_head=published, workers=2, slice_level=LEVEL
    ).result
    assert not result.ok
