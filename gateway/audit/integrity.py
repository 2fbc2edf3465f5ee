"""Export and full verification straight from the database (promise 6).

Both go through the export format of :mod:`gateway.audit.core.offline_verify`, so
``audit verify`` on the database and ``audit verify --from-export`` apply the
same checks. The stored leaf hash travels as the line's hint: an entry edited
in place is then named exactly, not only as "some entry before checkpoint S".
A second pass checks every stored inner subtree, which the proofs are served
from, against its children. Every query of one run reads the same snapshot
(:mod:`gateway.audit.snapshot`), so it can run next to live appends: entries
committed after the snapshot are simply not part of this run, never an alarm.
Alongside the leaves, :mod:`gateway.audit.derived` checks the query columns
and the subject index that inzage and the FG search read against the bodies,
and :mod:`gateway.audit.withholding_check` every inzage withholding row
against the entry that logged it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit.checkpoints import all_checkpoints, latest_checkpoint
from gateway.audit.core.canonical import node_hash
from gateway.audit.core.checkpoint_format import Checkpoint
from gateway.audit.core.offline_verify import VerifyResult, checkpoint_line, verify_export
from gateway.audit.derived import DerivedCheck
from gateway.audit.entry_stream import entry_pages
from gateway.audit.models import AuditEntry, AuditNode
from gateway.audit.parallel_verify import MIN_SLICES, SLICE_LEVEL, verify_database_parallel
from gateway.audit.snapshot import read_snapshot
from gateway.audit.store import head_size
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.withholding_check import unbacked_withholding
from gateway.storage.db import Database

PAGE = 5000
Progress = Callable[[int], None]


def entry_rows(session: Session, below: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
    """(seq, stored leaf hash, stored body) in seq order, paged by key."""
    last = -1
    while True:
        query = select(AuditEntry.seq, AuditEntry.leaf_hash, AuditEntry.body).where(
            AuditEntry.seq > last
        )
        if below is not None:
            query = query.where(AuditEntry.seq < below)
        rows = session.connection().execute(query.order_by(AuditEntry.seq).limit(PAGE)).all()
        if not rows:
            return
        for seq, leaf, body in rows:
            yield int(seq), bytes(leaf), body.encode("utf-8")
        last = int(rows[-1][0])


def export_lines(
    rows: Iterator[tuple[int, bytes, bytes]], checkpoints: list[Checkpoint]
) -> Iterator[bytes]:
    """JSON Lines as :mod:`offline_verify` reads them, each head right after its last entry."""
    heads = sorted(checkpoints, key=lambda c: c.size)
    pos = 0
    while pos < len(heads) and heads[pos].size == 0:
        yield checkpoint_line(heads[pos])
        pos += 1
    for written, (seq, leaf, body) in enumerate(rows, start=1):
        yield b'{"type":"entry","seq":%d,"leaf_hash":"%s","entry":%s}\n' % (
            seq,
            leaf.hex().encode("ascii"),
            body,
        )
        while pos < len(heads) and heads[pos].size == written:
            yield checkpoint_line(heads[pos])
            pos += 1
    for head in heads[pos:]:
        yield checkpoint_line(head)


def export_log(db: Database, out: BinaryIO, on_progress: Progress | None = None) -> int:
    """Write entries up to the newest checkpoint, plus every head up to it; returns entries."""
    count = 0
    with read_snapshot(db) as session:
        newest = latest_checkpoint(session)
        size = newest.size if newest is not None else head_size(session)
        heads = all_checkpoints(session, up_to=size)
        for line in export_lines(entry_rows(session, below=size), heads):
            out.write(line)
            if line.startswith(b'{"type":"entry"'):
                count += 1
                if on_progress is not None and count % PAGE == 0:
                    on_progress(count)
    if on_progress is not None:
        on_progress(count)
    return count


def _level(session: Session, level: int) -> Iterator[tuple[int, bytes]]:
    if level == 0:
        for seq, leaf, _body in entry_rows(session):
            yield seq, leaf
        return
    last = -1
    while True:
        rows = (
            session.connection()
            .execute(
                select(AuditNode.idx, AuditNode.hash)
                .where(AuditNode.level == level, AuditNode.idx > last)
                .order_by(AuditNode.idx)
                .limit(PAGE)
            )
            .all()
        )
        if not rows:
            return
        for idx, h in rows:
            yield int(idx), bytes(h)
        last = int(rows[-1][0])


def check_nodes(session: Session, size: int) -> tuple[int, str] | None:
    """First stored subtree that disagrees with its children: (first leaf it covers, reason)."""
    level = 1
    while size >> level:
        children = _level(session, level - 1)
        parents = _level(session, level)
        for index in range(size >> level):
            left, right, parent = next(children, None), next(children, None), next(parents, None)
            start = index << level
            if left is None or right is None or parent is None:
                return start, f"subtree level {level} index {index} or its children are missing"
            if (left[0], right[0], parent[0]) != (2 * index, 2 * index + 1, index):
                return start, f"subtree level {level} index {index} or its children are missing"
            if node_hash(left[1], right[1]) != parent[1]:
                return start, f"stored subtree level {level} index {index} does not match"
        level += 1
    return _nodes_beyond(session, size)


def _nodes_beyond(session: Session, size: int) -> tuple[int, str] | None:
    """Subtrees over leaves past the head: left behind when the tail was cut off."""
    levels = session.scalars(select(AuditNode.level).distinct()).all()
    for level in sorted(levels):
        idx = session.scalar(
            select(func.min(AuditNode.idx)).where(
                AuditNode.level == level, AuditNode.idx >= size >> level
            )
        )
        if idx is not None:
            return (
                size,
                f"subtrees exist beyond the head (level {level} index {idx}): truncated",
            )
    return None


@dataclass(frozen=True)
class DatabaseVerifyResult:
    result: VerifyResult
    head_size: int


def verify_database(
    db: Database,
    jwks: Mapping[str, Any],
    on_progress: Progress | None = None,
    *,
    expected_head: Checkpoint | None = None,
    vault: SubjectVault | None = None,
    workers: int | None = None,
    slice_level: int = SLICE_LEVEL,
) -> DatabaseVerifyResult:
    """Recompute every leaf, root and stored subtree; check every checkpoint signature,
    every derived column, every subject-index row and every inzage withholding row
    (each backed by a logged entry); all in one read snapshot.

    Cutting off the tail together with its checkpoints, subtrees and head is
    only visible against a head published earlier: pass it as ``expected_head``.
    With ``vault`` (the master key) each entry's sealed subject is also opened
    and compared with the pseudonym its index rows name.

    With ``workers`` > 1 a large log is first checked on that many processes
    (:mod:`gateway.audit.parallel_verify`); only if that pass has any doubt
    does the sequential check below run, to name the first bad seq.
    """
    if workers is not None and workers > 1:
        with read_snapshot(db) as session:
            large = head_size(session) >= MIN_SLICES << slice_level
        if large:
            fast = verify_database_parallel(
                db,
                jwks,
                on_progress,
                expected_head=expected_head,
                vault=vault,
                workers=workers,
                slice_level=slice_level,
            )
            if fast is not None:
                return DatabaseVerifyResult(result=fast[0], head_size=fast[1])
    with read_snapshot(db) as session:
        size = head_size(session)
        heads = all_checkpoints(session)
        derived = DerivedCheck(session, vault)
        result = verify_export(
            export_lines(derived.pages(entry_pages(session, PAGE)), heads),
            jwks,
            on_progress=on_progress,
            expected_head=expected_head,
            allow_unsigned_tail=True,
        )
        if result.ok and result.entries != size:
            bad = min(result.entries, size)
            result = _failed(
                result,
                bad,
                f"the head says {size} entries, the table holds "
                f"{result.entries}: entries were removed or added",
            )
        for found in (check_nodes(session, min(size, result.entries)), _as_pair(derived)):
            if found is not None:
                result = _earliest(result, *found)
        if result.ok:  # rows are matched against bodies only once those verified
            unbacked = unbacked_withholding(session, size)
            if unbacked is not None:
                result = _failed(result, None, unbacked)
    return DatabaseVerifyResult(result=result, head_size=size)


def _as_pair(derived: DerivedCheck) -> tuple[int, str] | None:
    mismatch = derived.finish()
    return (mismatch.seq, mismatch.problem) if mismatch is not None else None


def _earliest(result: VerifyResult, bad_seq: int, reason: str) -> VerifyResult:
    """Keep the failure at the lowest seq (a failure without a seq stays first)."""
    if result.ok or (result.first_bad_seq is not None and bad_seq < result.first_bad_seq):
        return _failed(result, bad_seq, reason)
    return result


def _failed(base: VerifyResult, seq: int | None, problem: str) -> VerifyResult:
    """``seq`` ``None``: the problem lies outside the log (a withholding row no entry backs)."""
    return VerifyResult(
        ok=False,
        entries=base.entries,
        checkpoints=base.checkpoints,
        first_bad_seq=seq,
        problem=problem,
        verified_size=base.verified_size,
    )
