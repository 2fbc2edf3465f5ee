"""Full verification of the database on every core: a fast pass that can only say "all is well".

The log is cut into aligned slices of ``2**SLICE_LEVEL`` entries. Each worker
process reads its slice inside the same snapshot as the coordinator (on
PostgreSQL an exported snapshot; on SQLite its own read transaction, which
sees the same rows below the head because entries are never rewritten) and:

- hashes each stored body as it is (``SHA-256(0x00 || body)``, no JSON
  re-encoding) and requires the stored leaf hash and a gap-free ``seq``;
- runs the derived-column and subject-index checks of
  :mod:`gateway.audit.derived` on its slice;
- computes every subtree inside the slice and requires ``audit_nodes`` to
  hold exactly those;
- checks the signature of every checkpoint that ends inside the slice, and
  returns the slice's right edge at those sizes.

The coordinator chains the slice roots in order, recomputes every checkpoint's
root from the edges, checks the subtrees above the slices, and the global
facts (no entry, subtree or index row past the head, the expected head, every
inzage withholding row backed by an entry: :mod:`gateway.audit.withholding_check`,
in the coordinator's snapshot, whose entries below the head the slices verify).

It gives no diagnosis: on any doubt it answers ``None`` and
:func:`gateway.audit.integrity.verify_database` runs the sequential check in
one snapshot, which names the first bad seq exactly as before. So a tampered
log costs one slower run, and the fast pass only has to be sound: it accepts
nothing the sequential check would reject.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from hashlib import sha256
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit.checkpoints import all_checkpoints
from gateway.audit.core.canonical import EMPTY_ROOT, LEAF_PREFIX, NODE_PREFIX
from gateway.audit.core.checkpoint_format import Checkpoint, CheckpointError, verify_checkpoint
from gateway.audit.core.merkle import extend_edge
from gateway.audit.core.offline_verify import VerifyResult
from gateway.audit.derived import DerivedCheck
from gateway.audit.entry_stream import entry_pages, level_matches
from gateway.audit.models import AuditEntry, AuditNode, AuditSubjectIndex
from gateway.audit.snapshot import export_snapshot, read_snapshot
from gateway.audit.store import head_size
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.withholding_check import unbacked_withholding
from gateway.storage.db import Database

SLICE_LEVEL = 16
SLICE = 1 << SLICE_LEVEL
PAGE = 20_000
MIN_SLICES = 4
_SEQ, _LEAF, _BODY = itemgetter(0), itemgetter(1), itemgetter(2)
"""Below ``MIN_SLICES`` slices a single process is as fast (workers cost ~1 s to start)."""


@dataclass(frozen=True)
class SliceJob:
    url: str
    snapshot: str | None
    lo: int
    hi: int
    heads: list[dict[str, Any]]
    jwks: Mapping[str, Any]
    master: bytes | None
    timeout_s: float
    slice_level: int


@dataclass(frozen=True)
class SliceResult:
    lo: int
    hi: int
    ok: bool
    edges: dict[int, list[bytes]]
    """Right edge of the slice's own tree at each checkpoint size inside it, and at ``hi``."""


def _fold(edge: Sequence[bytes]) -> bytes:
    if not edge:
        return EMPTY_ROOT
    acc = edge[-1]
    for h in reversed(edge[:-1]):
        acc = sha256(NODE_PREFIX + h + acc).digest()
    return acc


_WORKER_DATABASES: dict[tuple[str, float], Database] = {}


def _database(url: str, timeout_s: float) -> Database:
    """One engine per worker process for all its slices (not a connect per slice);
    the pool's processes, and their connections, end with the verify run."""
    key = (url, timeout_s)
    db = _WORKER_DATABASES.get(key)
    if db is None:
        db = _WORKER_DATABASES[key] = Database(url, timeout_s=timeout_s)
    return db


def _check_slice(job: SliceJob) -> SliceResult:
    """Runs in a worker process: see the module docstring for what is checked."""
    return check_slice(_database(job.url, job.timeout_s), job)


def check_slice(db: Database, job: SliceJob) -> SliceResult:
    """One slice, in whichever process runs it (a worker, or the coordinator in between)."""
    failed = SliceResult(job.lo, job.hi, False, {})
    # The pages' parsed bodies and row tuples are acyclic: reference counting frees
    # them, while the cyclic collector, triggered by every few hundred of the
    # ~10 objects per entry, cost almost half of the checks' CPU. Off for the slice only.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with read_snapshot(db, shared=job.snapshot) as session:
            edges = _slice_edges(session, job)
            if edges is None:
                return failed
    finally:
        if collecting:
            gc.enable()
    for obj in job.heads:
        try:
            verify_checkpoint(Checkpoint.from_json(obj), job.jwks)
        except CheckpointError:
            return failed
    return SliceResult(job.lo, job.hi, True, edges)


def _slice_edges(session: Session, job: SliceJob) -> dict[int, list[bytes]] | None:
    """The slice's right edges at its stops, or ``None`` if any entry or subtree is wrong.

    Whole pages at a time: the seqs, then the leaf hashes compared as lists;
    the slice's tree is then built level by level over those lists and each
    level compared with the stored subtrees of that level, in idx order.
    """
    master = job.master
    vault = SubjectVault(lambda: master) if master is not None else None
    derived = DerivedCheck(session, vault, start=job.lo)
    lo = job.lo
    prefix, sha = LEAF_PREFIX, sha256
    leaves: list[bytes] = []
    for rows in entry_pages(session, PAGE, start=lo, below=job.hi):
        if not derived.check(rows):
            return None
        first = lo + len(leaves)
        if list(map(_SEQ, rows)) != list(range(first, first + len(rows))):
            return None
        bodies = list(map(_BODY, rows))
        if type(bodies[0]) is str:  # SQLite hands text: its UTF-8 bytes are hashed
            bodies = list(map(str.encode, bodies))
        hashed = [sha(prefix + body).digest() for body in bodies]
        if hashed != list(map(_LEAF, rows)):
            return None
        leaves += hashed
    derived.done()
    if lo + len(leaves) != job.hi or derived.first is not None or derived.stopped:
        return None
    levels = [leaves]
    for level in range(1, job.slice_level + 1):
        pairs = iter(levels[-1])  # one iterator zipped with itself: (left, right); an odd
        # last hash has no sibling yet (a partial slice) and is left out, as before
        node = NODE_PREFIX
        current = [
            sha(node + left + right).digest() for left, right in zip(pairs, pairs, strict=False)
        ]
        if not level_matches(session, level, lo >> level, current):
            return None
        levels.append(current)
    stops = {int(h["size"]) for h in job.heads} | {job.hi}
    return {stop: _edge(levels, stop - lo) for stop in sorted(stops)}


def _edge(levels: Sequence[Sequence[bytes]], size: int) -> list[bytes]:
    """Right edge of the first ``size`` leaves: one subtree per set bit, largest first."""
    return [
        levels[bit][(size >> bit) - 1]
        for bit in reversed(range(size.bit_length()))
        if size >> bit & 1
    ]


def verify_database_parallel(
    db: Database,
    jwks: Mapping[str, Any],
    on_progress: Callable[[int], None] | None = None,
    *,
    expected_head: Checkpoint | None = None,
    vault: SubjectVault | None = None,
    workers: int = 2,
    slice_level: int = SLICE_LEVEL,
) -> tuple[VerifyResult, int] | None:
    """(result, head size) when every check passes; ``None`` on any doubt.

    ``slice_level``: slices of ``2**slice_level`` entries (small in tests).
    """
    with read_snapshot(db) as session:
        size = head_size(session)
        heads = all_checkpoints(session)
        if not _global_facts_hold(session, size, heads, expected_head, jwks):
            return None
        if unbacked_withholding(session, size) is not None:
            return None  # the sequential check names the table and the row
        snapshot = export_snapshot(session)
        master = vault.master() if vault is not None else None
        every = [*heads, *([expected_head] if expected_head is not None else [])]
        width = 1 << slice_level
        jobs = [
            SliceJob(
                url=db.url,
                snapshot=snapshot,
                lo=lo,
                hi=min(size, lo + width),
                heads=[h.to_json() for h in every if lo < h.size <= min(size, lo + width)],
                jwks=dict(jwks),
                master=master,
                timeout_s=60.0,
                slice_level=slice_level,
            )
            for lo in range(0, size, width)
        ]
        context = multiprocessing.get_context("spawn")  # the caller may run threads
        with ProcessPoolExecutor(max_workers=max(1, workers - 1), mp_context=context) as pool:
            results = _in_order(db, pool, max(1, workers - 1), jobs)
            try:
                verified = _chain(session, slice_level, every, results, on_progress)
            finally:
                results.close()
        if verified is None:
            return None
    result = VerifyResult(ok=True, entries=size, checkpoints=len(heads), verified_size=verified)
    return result, size


def _in_order(
    db: Database, pool: ProcessPoolExecutor, spawned: int, jobs: Sequence[SliceJob]
) -> Generator[SliceResult, None, None]:
    """Every job's result in job order, the pool's ``spawned`` processes and this one sharing them.

    A spawned worker first imports the caller's main module (the whole CLI: ~4 CPU
    seconds, more wall time on a busy machine) before its first slice; this process
    is warm, so it checks slices itself whenever the pool has enough queued,
    instead of waiting. Closing the generator cancels what has not started.
    """
    pending: dict[int, Future[SliceResult]] = {}
    mine: dict[int, SliceResult] = {}
    queued = done = 0
    try:
        while done < len(jobs):
            while queued < len(jobs) and len(pending) < 2 * spawned:
                pending[queued] = pool.submit(_check_slice, jobs[queued])
                queued += 1
            if done in mine:
                yield mine.pop(done)
            elif done in pending and (pending[done].done() or queued == len(jobs)):
                yield pending.pop(done).result()
            else:
                mine[queued] = check_slice(db, jobs[queued])
                queued += 1
                continue
            done += 1
    finally:
        for future in pending.values():
            future.cancel()


def _global_facts_hold(
    session: Session,
    size: int,
    heads: Sequence[Checkpoint],
    expected_head: Checkpoint | None,
    jwks: Mapping[str, Any],
) -> bool:
    """No checkpoint, entry, subtree or index row past the head; heads at size 0 are empty."""
    every = [*heads, *([expected_head] if expected_head is not None else [])]
    if any(h.size > size for h in every):
        return False
    for head in every:
        if head.size == 0:
            try:
                verify_checkpoint(head, jwks)
            except CheckpointError:
                return False
            if head.root() != EMPTY_ROOT:
                return False
    beyond_entry = session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.seq >= size))
    beyond_index = session.scalar(
        select(func.min(AuditSubjectIndex.seq)).where(
            (AuditSubjectIndex.seq >= size) | (AuditSubjectIndex.seq < 0)
        )
    )
    if beyond_entry is not None or beyond_index is not None:
        return False
    for level in session.scalars(select(AuditNode.level).distinct()).all():
        if level < 1:
            return False
        beyond = session.scalar(
            select(func.min(AuditNode.idx)).where(
                AuditNode.level == level, AuditNode.idx >= size >> level
            )
        )
        if beyond is not None:
            return False
    return True


def _chain(
    session: Session,
    slice_level: int,
    heads: Sequence[Checkpoint],
    results: Any,
    on_progress: Callable[[int], None] | None,
) -> int | None:
    """Chain the slices in order; the largest checkpoint size verified, or ``None``."""
    by_size: dict[int, list[Checkpoint]] = {}
    for head in heads:
        by_size.setdefault(head.size, []).append(head)
    verified = 0
    upper: list[bytes] = []
    computed: dict[tuple[int, int], bytes] = {}
    slices = 0
    for result in results:
        if not result.ok:
            return None
        for at, edge in result.edges.items():
            for head in by_size.get(at, []):
                if head.root() != _fold(upper + edge):
                    return None
                verified = max(verified, at)
        if result.hi - result.lo == 1 << slice_level:
            slice_root = result.edges[result.hi]
            for (level, idx), h in extend_edge(slices, upper, slice_root):
                if level:
                    computed[(level + slice_level, idx)] = h
            slices += 1
        if on_progress is not None:
            on_progress(result.hi)
    stored = {
        (int(level), int(idx)): bytes(h)
        for level, idx, h in session.execute(
            select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                AuditNode.level > slice_level
            )
        )
    }
    if stored != computed:
        return None
    if 0 in by_size:
        verified = max(verified, 0)
    return verified
