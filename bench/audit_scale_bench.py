"""Proofs, inzage and full verify on a large PostgreSQL log: ``python -m bench.audit_scale_bench``.

Issue 16 asks for the inclusion proof (p50 ≤ 5 ms) and inzage (p50 ≤ 100 ms)
at 10M entries on PostgreSQL, and for ``audit verify`` at ≥ 1M entries/s.
Building 10M entries through the append path would take most of an hour, so
the log is grown with :class:`bench.bulk_loader.BulkLoader`: batches of
100,000 subject-less entries with exactly the rows ``write_batch`` writes
(body bytes, leaf hash, columns, every subtree, the head), streamed with
``COPY`` and committed per batch (no sealing, no data key, no index row). The
person whose inzage is timed gets 60 entries through the real
``AuditLog.append_sync`` spread over the log (between bulk batches), so their
index rows, data keys and sealed subjects are exactly what the gateway writes.
After each build the audit tables are vacuumed (``VACUUM (FREEZE, ANALYZE)``):
the first read of freshly copied rows sets their hint bits, which cost the
server 20–50 µs per row once, and a log that has been in service has long
had that done by autovacuum.

Each figure carries the load average at the time (the machine is shared);
verify also reports the CPU seconds per million entries of the verifying
processes (the coordinator and its workers, not the PostgreSQL server).

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
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from bench.audit_bench import DEFAULT_PG, _pg_database
from bench.bulk_loader import BulkLoader, conninfo
from bench.inzage_bench import DISCLOSURES, REPO_POLICIES, TARGET, TARGET_ENTRIES, TODAY
from bench.inzage_bench import target_event as inzage_event
from bench.report import Figure, Section, median, percentile, render, write
from gateway.audit.checkpoints import prove_inclusion
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import head_size
from gateway.policy.compiled import compile_policy
from gateway.policy.loader import load_policy_dir
from gateway.rights.inzage import assemble_inzage
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

BULK = 100_000
PROOF_GOAL_MS = 5.0
INZAGE_GOAL_MS = 100.0
VERIFY_GOAL = 1_000_000


def grow(log: AuditLog, loader: BulkLoader, size: int, target: int, placed: int) -> int:
    """Grow the log to ``target`` entries; the person's entries spread evenly. Returns placed."""
    while size < target:
        step = min(BULK, target - size)
        loader.append(step)
        size += step
        due = min(TARGET_ENTRIES, size * TARGET_ENTRIES // max(target, 1))
        if due > placed:
            log.append_sync([inzage_event(i) for i in range(placed, due)])
            size += due - placed
            placed = due
        if size // BULK % 10 == 0:
            print(f"[scale] {size:,} entries, load {_load()}", flush=True)
    return placed


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the verify workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def vacuum(url: str) -> float:
    """``VACUUM (FREEZE, ANALYZE)`` the audit tables; seconds taken."""
    start = time.perf_counter()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        for table in ("audit_entries", "audit_nodes", "audit_subject_index", "audit_data_keys"):
            conn.execute(f"VACUUM (FREEZE, ANALYZE) {table}")
    return time.perf_counter() - start


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


def time_verify(
    db: Database, log: AuditLog, signer: Ed25519Signer, workers: int | None
) -> tuple[int, float, float, str]:
    """(entries, wall seconds, CPU seconds of the verifying processes, load average)."""
    label = f"{workers} workers" if workers else "sequentially"
    print(f"[scale] verifying {label}, load {_load()}", flush=True)
    start, cpu = time.perf_counter(), _cpu()
    outcome = verify_database(db, signer.jwks(), vault=log.vault, workers=workers)
    wall, used = time.perf_counter() - start, _cpu() - cpu
    assert outcome.result.ok, outcome.result.problem
    print(f"[scale] {outcome.head_size:,} in {wall:.1f} s, load {_load()}", flush=True)
    return outcome.head_size, wall, used, _load()


def run(
    url: str, sizes: list[int], runs: int, workers: int, budget_s: float, sequential: bool
) -> Section:
    migrate.upgrade(url)
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=url, key_dir=tmp / "keys", dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=120)
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    log = build_audit_log(settings, db, signer)
    log.timeout_s = 120
    loader = BulkLoader(conninfo(url))
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
        before = size
        placed = grow(log, loader, size, target, placed)
        with db.session() as session:
            size = head_size(session)
        built_s = time.perf_counter() - build_start
        build_rate = (size - before) / built_s
        print(f"[scale] built {size:,} (+{built_s:.0f} s), load {_load()}", flush=True)
        log.checkpoint_now()
        vacuum_s = vacuum(url)
        print(f"[scale] vacuumed in {vacuum_s:.0f} s", flush=True)
        p50, p99 = time_proofs(db, size, runs)
        section.figures.append(
            Figure(
                f"inclusion proof at {size:,} entries",
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
                goal=f"p50 ≤ {PROOF_GOAL_MS:g} ms at 10M",
                met=p50 <= PROOF_GOAL_MS if size >= 10_000_000 else None,
                note=f"{runs} random leaves, each in its own transaction; "
                f"built at {build_rate:,.0f} entries/s, then VACUUM (FREEZE, ANALYZE) "
                f"{vacuum_s:.0f} s; load {_load()}",
            )
        )
        i50, i99 = time_inzage(log, runs)
        section.figures.append(
            Figure(
                f"inzage at {size:,} entries",
                f"p50 {i50:.2f} ms, p99 {i99:.2f} ms",
                goal=f"p50 ≤ {INZAGE_GOAL_MS:g} ms at 10M",
                met=i50 <= INZAGE_GOAL_MS if size >= 10_000_000 else None,
                note=f"{DISCLOSURES} disclosures over 3 data keys, {runs} warm calls; "
                f"load {_load()}",
            )
        )
    loader.close()
    size, fast_s, fast_cpu, fast_load = time_verify(db, log, signer, workers)
    baseline, ratio, slow_note = "", "", "sequential check not run (--no-sequential)"
    if sequential:
        _n, slow_s, slow_cpu, slow_load = time_verify(db, log, signer, None)
        baseline = (
            f"sequential: {size / slow_s:,.0f} entries/s, {slow_cpu / size * 1e6:.1f} CPU s/M"
        )
        ratio = f"{slow_s / fast_s:.2f}x"
        slow_note = f"sequential {slow_s:.1f} s at load {slow_load}"
    section.figures.append(
        Figure(
            f"full verify at {size:,} entries, {workers} processes",
            f"{size / fast_s:,.0f} entries/s, {fast_cpu / size * 1e6:.1f} CPU s/M",
            baseline,
            ratio,
            goal="≥ 1,000,000 entries/s",
            met=size / fast_s >= VERIFY_GOAL,
            note=f"{fast_s:.1f} s at load {fast_load}; {slow_note}; leaves, tree, subtrees, "
            "signatures, derived columns, subject index, sealed subjects (master key); "
            "CPU s/M = CPU seconds of the verifying processes per million entries",
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
    parser.add_argument(
        "--no-sequential",
        action="store_true",
        help="skip the sequential baseline verify (it runs at a fraction of the parallel rate)",
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
        load_before = _load()
        section = run(url, sorted(sizes), runs, args.workers, args.budget, not args.no_sequential)
        load_after = _load()
    finally:
        drop()
    notes = [
        f"- PostgreSQL {version} on the same machine (loopback)",
        "- Bulk loader (bench/bulk_loader.py): subject-less entries in batches of 100,000,"
        " the rows write_batch writes, by COPY; the person's 60 entries through"
        " AuditLog.append_sync, spread over the log; then VACUUM (FREEZE, ANALYZE)",
        f"- Load average (1 min) {load_before} at the start, {load_after} at the end;"
        " each figure notes the load when it was taken",
    ]
    command = "python -m bench.audit_scale_bench " + " ".join(sys.argv[1:])
    write("audit-scale.md", render("Audit log at scale (PostgreSQL)", command, [section], notes))


if __name__ == "__main__":
    main()
