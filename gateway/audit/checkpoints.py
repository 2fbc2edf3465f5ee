"""Signed tree heads kept in the database, and the proofs served against them.

Several instances may sign the same size at once; the first row wins
(``ON CONFLICT DO NOTHING``) and the others read it back, so a size has exactly
one published head. Proofs are only served up to a size that has a head: a
client can then check the proof against a signature it trusts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit.core.checkpoint_format import Checkpoint, b64url, rfc3339_utc, signed_bytes
from gateway.audit.core.merkle import TreeFrontier, consistency_proof, inclusion_proof, root
from gateway.audit.models import AuditCheckpoint, AuditEntry
from gateway.audit.signer import CheckpointSigner, KeyStoreSigner
from gateway.audit.store import SqlNodeStore, head_size
from gateway.storage.upsert import conflict_insert


class NoCheckpoint(LookupError):
    """No signed head exists at the size asked for."""


def _to_checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(
        size=int(row.size),
        root_hash=row.root_hash,
        time=row.time,
        kid=row.kid,
        signature=row.signature,
    )


def _sign(signer: CheckpointSigner, data: bytes) -> tuple[str, bytes]:
    if isinstance(signer, KeyStoreSigner):
        return signer.signed(data)
    return signer.kid, signer.sign(data)


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
    ).first()
    return _to_checkpoint(row) if row is not None else None


def checkpoint_at(session: Session, size: int) -> Checkpoint:
    row = session.get(AuditCheckpoint, size)
    if row is None:
        raise NoCheckpoint(f"no signed checkpoint at size {size}")
    return _to_checkpoint(row)


def all_checkpoints(session: Session, up_to: int | None = None) -> list[Checkpoint]:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.size)
    if up_to is not None:
        query = query.where(AuditCheckpoint.size <= up_to)
    return [_to_checkpoint(row) for row in session.scalars(query)]


def make_checkpoint(
    session: Session,
    signer: CheckpointSigner,
    *,
    now: datetime | None = None,
    edge: TreeFrontier | None = None,
) -> Checkpoint | None:
    """Sign the current size unless it already has a head; ``None`` when nothing is new.

    ``edge``, a writer's committed right edge, gives the root without reading
    the stored subtrees when it is at the head's size (leaves below a committed
    size never change, so it is the stored tree); otherwise they are read.
    The caller commits. Returns the head stored for that size, ours or a racer's.
    """
    size = head_size(session)
    newest = session.scalar(select(func.max(AuditCheckpoint.size)))
    if size == 0 or (newest is not None and newest >= size):
        return None
    tree_root = (
        edge.root() if edge is not None and edge.size == size else root(size, SqlNodeStore(session))
    )
    root_hex = tree_root.hex()
    stamp = rfc3339_utc(now)
    kid, signature = _sign(signer, signed_bytes(size, root_hex, stamp))
    values = {
        "size": size,
        "root_hash": root_hex,
        "time": stamp,
        "kid": kid,
        "signature": b64url(signature),
    }
    statement = conflict_insert(session, AuditCheckpoint).values(**values)
    session.execute(statement.on_conflict_do_nothing(index_elements=["size"]))
    return checkpoint_at(session, size)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    leaf_hash: bytes
    checkpoint: Checkpoint
    path: Sequence[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: Checkpoint | None
    second: Checkpoint
    path: Sequence[bytes]


def prove_inclusion(session: Session, seq: int, size: int) -> InclusionProof:
    """PATH(seq, D[0:size]) for a signed size; ``MerkleError`` if seq is outside it."""
    head = checkpoint_at(session, size)
    store = SqlNodeStore(session)
    path = inclusion_proof(seq, size, store)
    leaf = session.scalar(select(AuditEntry.leaf_hash).where(AuditEntry.seq == seq))
    if leaf is None:
        raise NoCheckpoint(f"entry {seq} is missing")
    return InclusionProof(seq=seq, leaf_hash=bytes(leaf), checkpoint=head, path=path)


def prove_consistency(session: Session, first: int, second: int) -> ConsistencyProof:
    """PROOF(first, D[0:second]) between two signed sizes (``first`` may be 0)."""
    head_second = checkpoint_at(session, second)
    head_first = checkpoint_at(session, first) if first > 0 else None
    path = consistency_proof(first, second, SqlNodeStore(session))
    return ConsistencyProof(first=head_first, second=head_second, path=path)
