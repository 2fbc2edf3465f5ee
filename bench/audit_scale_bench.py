"""Proofs, inzage and full verify on a large PostgreSQL log: ``python -m bench.audit_scale_bench``.

Issue 16 asks for the inclusion proof (p50 ≤ 5 ms) and inzage (p50 ≤ 100 ms)
at 10M entries on PostgreSQL, and for ``audit verify`` at ≥ 1M entries/s.
Building 10M entries through the append path would take most of an hour, so
the log is grown with a bulk loader instead (:func:`bulk_append`): batches of
50,000 entries through the same ``write_batch`` as the gateway (RFC 8785 body,
leaf hash, subtrees from the in-memory frontier, ``COPY`` into the tables),
but without a subject (no sealing, no data key, no index row), committed per
batch. The person whose inzage is timed gets 60 entries through the real
``AuditLog.append_sync`` spread over the log (between bulk batches), so their
index rows, data keys and sealed subjects are exactly what the gateway writes.

The log grows through ``--sizes``; at each size the proof and the inzage are
timed (warm) and, at the last size, full verify runs with ``--workers``
processes beside the sequential check (the baseline, same run, same log).
Sizes that would not finish within ``--budget`` seconds are skipped.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from bench.audit_bench import DEFAULT_PG, _pg_database, make_event
from bench.inzage_bench import DISCLOSURES, REPO_POLICIES, TARGET, TARGET_ENTRIES, TODAY
from bench.inzage_bench import target_event as inzage_event
from bench.report import Figure, Section, median, percentile, render, write
from gateway.audit.checkpoints import prove_inclusion
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import PendingEntry, head_size, write_batch
from gateway.policy.compiled import compile_policy
from gateway.policy.loader import load_policy_dir
from gateway.rights.inzage import assemble_inzage
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

BULK = 50_000
PROOF_GOAL_MS = 5.0
INZAGE_GOAL_MS = 100.0
VERIFY_GOAL = 1_000_000


def bulk_append(log: AuditLog, start: int, count: int) -> None:
    """``count`` subject-less entries in one transaction through ``write_batch`` (COPY on PG)."""
    now = datetime.now(UTC)
    batch = []
    for n in range(start, start + count):
        event = replace(make_event(n), subject_pseudonym=None)
        batch.append(PendingEntry(event, now, event.trace_id, event.span_id))
    with log.db.session() as session:
        _seqs, edge = write_batch(session, batch, log.vault, frontier=log.frontier)
    log.frontier.committed(edge)


def grow(log: AuditLog, size: int, target: int, placed: int) -> int:
    """Grow the log to ``target`` entries; the person's entries spread evenly. Returns placed."""
    while size < target:
        step = min(BULK, target - size)
        bulk_append(log, size, step)
        size += step
        due = min(TARGET_ENTRIES, size * TARGET_ENTRIES // max(target, 1))
        if due > placed:
            log.append_sync([inzage_event(i) for i in range(placed, due)])
            size += due - placed
            placed = due
        if size // BULK % 20 == 0:
            print(f"[scale] {size:,} entries", flush=True)
    return placed


def _ms(samples: list[float]) -> tuple[float, float]:
    return median(samples) * 1000, percentile(samples, 0.99) * 1000


def time_proofs(db: Database, size: int, runs: int) -> tuple[float, float]:
    rng = random.Random(size)
    samples = []
    for _ in range(runs):
        seq = rng.randrange(size)
        start = time.perf_counter()
        with db.session() as session:  # each proof in its own transaction, as the API does
            prove_inclusion(session, seq, size)
        samples.append(time.perf_counter() - start)
    return _ms(samples)


def time_inzage(log: AuditLog, runs: int) -> tuple[float, float]:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        with log.db.session() as session:
            found = assemble_inzage(session, log.vault, policy, TARGET, TODAY)
        samples.append(time.perf_counter() - start)
        assert len(found.disclosures) == DISCLOSURES, len(found.disclosures)
    return _ms(samples)


def run(url: str, sizes: list[int], runs: int, workers: int, budget_s: float) -> Section:
    migrate.upgrade(url)
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=url, key_dir=tmp / "keys", dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=120)
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    log = build_audit_log(settings, db, signer)
    log.timeout_s = 120
    section = Section("PostgreSQL, log grown with the bulk loader", [])
    size, placed, started = 0, 0, time.perf_counter()
    for target in sizes:
        elapsed = time.perf_counter() - started
        rate = size / elapsed if size else 0
        if rate and elapsed + (target - size) / rate > budget_s:
            section.figures.append(
                Figure(
                    f"proof / inzage at {target:,} entries",
                    "not measured",
                    note=f"building would exceed --budget {budget_s:.0f} s "
                    f"(bulk rate {rate:,.0f} entries/s)",
                )
            )
            continue
        build_start = time.perf_counter()
        placed = grow(log, size, target, placed)
        with db.session() as session:
            size = head_size(session)
        build_rate = (size - 0) / (time.perf_counter() - started)
        print(f"[scale] built {size:,} (+{time.perf_counter() - build_start:.0f} s)", flush=True)
        log.checkpoint_now()
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
        p50, p99 = time_proofs(db, size, runs)
        section.figures.append(
            Figure(
                f"inclusion proof at {size:,} entries",
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
                goal=f"p50 ≤ {PROOF_GOAL_MS:g} ms at 10M",
                met=p50 <= PROOF_GOAL_MS if size >= 10_000_000 else None,
                note=f"{runs} random leaves, each in its own transaction; "
                f"built at {build_rate:,.0f} entries/s",
            )
        )
        i50, i99 = time_inzage(log, runs)
        section.figures.append(
            Figure(
                f"inzage at {size:,} entries",
                f"p50 {i50:.2f} ms, p99 {i99:.2f} ms",
                goal=f"p50 ≤ {INZAGE_GOAL_MS:g} ms at 10M",
                met=i50 <= INZAGE_GOAL_MS if size >= 10_000_000 else None,
                note=f"{DISCLOSURES} disclosures over 3 data keys, {runs} warm calls",
            )
        )
    with db.session() as session:
        size = head_size(session)
    print(f"[scale] verifying {size:,} with {workers} workers", flush=True)
    start = time.perf_counter()
    fast = verify_database(db, signer.jwks(), vault=log.vault, workers=workers)
    fast_s = time.perf_counter() - start
    assert fast.result.ok, fast.result.problem
    print(f"[scale] verifying {size:,} sequentially", flush=True)
    start = time.perf_counter()
    slow = verify_database(db, signer.jwks(), vault=log.vault)
    slow_s = time.perf_counter() - start
    assert slow.result.ok, slow.result.problem
    section.figures.append(
        Figure(
            f"full verify at {size:,} entries, {workers} processes",
            f"{size / fast_s:,.0f} entries/s",
            f"sequential: {size / slow_s:,.0f} entries/s",
            f"{slow_s / fast_s:.2f}x",
            goal="≥ 1,000,000 entries/s",
            met=size / fast_s >= VERIFY_GOAL,
            note=f"{fast_s:.1f} s vs {slow_s:.1f} s; leaves, tree, subtrees, signatures, "
            "derived columns, subject index, sealed subjects (master key)",
        )
    )
    db.dispose()
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--budget", type=float, default=1800.0)
    parser.add_argument(
        "--postgres", default=os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--quick", action="store_true", help="sizes 20k and 100k, 50 runs")
    args = parser.parse_args()
    sizes, runs = ([20_000, 100_000], 50) if args.quick else (args.sizes, args.runs)
    pg = _pg_database(args.postgres)
    if pg is None:
        sys.exit("PostgreSQL not reachable")
    url, drop = pg
    try:
        with create_engine(url).connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
        section = run(url, sorted(sizes), runs, args.workers, args.budget)
    finally:
        drop()
    notes = [
        f"- PostgreSQL {version} on the same machine (loopback)",
        "- Bulk loader: subject-less entries in batches of 50,000 through write_batch (COPY);"
        " the person's 60 entries through AuditLog.append_sync, spread over the log",
    ]
    command = "python -m bench.audit_scale_bench " + " ".join(sys.argv[1:])
    write("audit-scale.md", render("Audit log at scale (PostgreSQL)", command, [section], notes))


if __name__ == "__main__":
    main()
