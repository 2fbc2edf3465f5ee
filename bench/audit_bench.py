"""Audit log benchmark: ``python -m bench.audit_bench --entries 1000000``.

Every figure stands next to a baseline measured in the same run on the same
machine, so the table says what the log costs rather than how fast the box is:
batched appends vs. a raw INSERT of equally sized rows, full verification vs.
raw SHA-256 leaf hashing. Results go to bench/results/audit.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import BigInteger, Column, LargeBinary, MetaData, Table, Text, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway.audit.checkpoints import prove_inclusion
from gateway.audit.events import AuditEvent
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import head_size
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

RESULTS = Path(__file__).parent / "results" / "audit.md"
READING = [
    "Appends pay per entry for what a raw INSERT does not: RFC 8785 encoding, AES-GCM",
    "sealing of the subject, the data-key check, the tree's new subtrees (about one extra",
    "row per entry) and the search-index row, all in the head-locked transaction.",
    "Full verify re-reads every entry and every stored subtree from the database;",
    "the hashing baseline shows the part that is pure SHA-256.",
]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 1000


def make_event(n: int) -> AuditEvent:
    return AuditEvent(
        kind="decision" if n % 5 == 0 else "disclosure",
        outcome="denied" if n % 5 == 0 else "ok",
        reason="no_rule" if n % 5 == 0 else None,
        party=f"partij-{n % 30}",
        employee=f"medewerker-{n % 500}",
        convenant="zvh-regio",
        purpose="casusoverleg",
        case=f"c-{n % 2000:020d}",
        source=f"bron-{n % 12}",
        category="leefgebied_huisvesting",
        records=n % 4,
        trimmed_fields=n % 3,
        subject_pseudonym=hashlib.sha256(b"%d" % (n % 2000)).hexdigest(),
        covenant_version="ab" * 32,
        trace_id=f"{n:032x}",
        span_id=f"{n:016x}",
    )


@dataclass
class Row:
    name: str
    value: str
    baseline: str
    note: str = ""


@dataclass
class Backend:
    name: str
    rows: list[Row] = field(default_factory=list)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} /s"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def raw_insert_rate(url: str, count: int, body_len: int) -> float:
    """Rows/s for a plain executemany INSERT of rows shaped like audit entries."""
    engine = create_engine(url)
    meta = MetaData()
    table = Table(
        f"bench_raw_{uuid.uuid4().hex[:8]}",
        meta,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("leaf", LargeBinary(32)),
        Column("body", Text),
    )
    meta.create_all(engine)
    body = "x" * body_len
    start = time.perf_counter()
    for base in range(0, count, BATCH):
        rows = [
            {"seq": s, "leaf": hashlib.sha256(b"%d" % s).digest(), "body": body}
            for s in range(base, min(count, base + BATCH))
        ]
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
    elapsed = time.perf_counter() - start
    meta.drop_all(engine)
    engine.dispose()
    return count / elapsed


def hashing_rate(bodies: list[bytes]) -> float:
    """Raw hashlib: SHA-256(0x00 || body) for each body, nothing else."""
    sha = hashlib.sha256
    start = time.perf_counter()
    for body in bodies:
        sha(b"\x00" + body).digest()
    return len(bodies) / (time.perf_counter() - start)


def fill(log: AuditLog, entries: int, progress: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for base in range(0, entries, BATCH):
        log.append_sync([make_event(n) for n in range(base, min(entries, base + BATCH))])
        progress(base + BATCH)
    return time.perf_counter() - start


def group_commit_rate(log: AuditLog, callers: int, rounds: int) -> tuple[float, list[float]]:
    """Concurrent single-event appends, each awaiting its own durable commit.

    Also returns, per append, how long after its commit a signed checkpoint
    covered it (the checkpointer runs as in the gateway, every
    ``checkpoint_interval_s``); a poller reads the newest head every 10 ms.
    """
    committed: list[tuple[int, float]] = []
    heads: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            with log.db.session() as session:
                newest = session.scalar(text("SELECT max(size) FROM audit_checkpoints"))
            heads.append((time.perf_counter(), int(newest or 0)))
            time.sleep(0.01)

    async def run() -> None:
        async def caller(i: int) -> None:
            for r in range(rounds):
                seq = (await log.append([make_event(i * rounds + r)]))[0]
                committed.append((seq, time.perf_counter()))

        await asyncio.gather(*(caller(i) for i in range(callers)))

    poller = threading.Thread(target=poll, daemon=True)
    log.start()
    poller.start()
    start = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - start
    last = max(seq for seq, _t in committed)
    deadline = time.perf_counter() + 10
    while (not heads or heads[-1][1] <= last) and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join()
    log.stop()
    latencies = []
    for seq, at in committed[:: max(1, len(committed) // 500)]:
        covered = next((t for t, size in heads if size > seq and t >= at), None)
        latencies.append((covered if covered is not None else float("inf")) - at)
    return callers * rounds / elapsed, latencies


def run_backend(name: str, url: str, entries: int, key_dir: Path) -> Backend:
    print(f"[{name}] migrating", flush=True)
    migrate.upgrade(url)
    settings = Settings(database_url=url, key_dir=key_dir, dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=30)
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    log = build_audit_log(settings, db, signer)
    log.timeout_s = 60
    result = Backend(name)

    def progress(done: int) -> None:
        if done % 100_000 == 0:
            print(f"[{name}] appended {done:,}", flush=True)

    elapsed = fill(log, entries, progress)
    with db.session() as session:
        sample_body = session.execute(text("SELECT body FROM audit_entries WHERE seq = 1")).scalar()
    body_len = len(sample_body or "")
    raw_count = min(entries, 200_000)
    raw = raw_insert_rate(settings.sqlalchemy_url, raw_count, body_len)
    result.rows.append(
        Row(
            f"append, batches of {BATCH}",
            _rate(entries, elapsed),
            f"raw INSERT {raw:,.0f} /s",
            f"{entries:,} entries, {body_len} B each, subject + seal + tree nodes",
        )
    )
    group, latencies = group_commit_rate(log, callers=64, rounds=100)
    result.rows.append(
        Row("append, 64 concurrent callers x 1 event", f"{group:,.0f} /s", "same raw INSERT", "")
    )
    result.rows.append(
        Row(
            "entry in a signed checkpoint (after its commit)",
            _ms(latencies),
            "",
            f"checkpoint interval {log.checkpoint_interval_s:g} s, during the 64-caller run",
        )
    )

    samples = []
    for n in range(20):
        log.append_sync([make_event(n)])
        start = time.perf_counter()
        log.checkpoint_now()
        samples.append(time.perf_counter() - start)
    result.rows.append(Row("checkpoint (root + sign + store)", _ms(samples), "", "20 samples"))

    with db.session() as session:
        size = head_size(session)
    rng = random.Random(7)
    samples = []
    with db.session() as session:
        for _ in range(300):
            seq = rng.randrange(size)
            start = time.perf_counter()
            prove_inclusion(session, seq, size)
            samples.append(time.perf_counter() - start)
    result.rows.append(
        Row(f"inclusion proof at size {size:,}", _ms(samples), "", "300 random leaves")
    )

    print(f"[{name}] verifying {size:,} entries", flush=True)
    start = time.perf_counter()
    outcome = verify_database(db, signer.jwks(), workers=os.cpu_count())
    elapsed = time.perf_counter() - start
    assert outcome.result.ok, outcome.result.problem
    bodies = [sample_body.encode() if sample_body else b""] * min(size, 1_000_000)
    result.rows.append(
        Row(
            f"full verify (leaves, tree, subtrees, signatures), {os.cpu_count()} processes",
            _rate(size, elapsed),
            f"raw SHA-256 leaf hashing {hashing_rate(bodies):,.0f} /s",
            f"{elapsed:.1f} s in total",
        )
    )
    db.dispose()
    return result


def _pg_database(base: str) -> tuple[str, Callable[[], None]] | None:
    admin_url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"ketenpoort_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, drop


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs{mem}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]


def write_report(backends: list[Backend], command: str, notes: list[str]) -> str:
    lines = ["# Audit log benchmark", "", *machine(), *notes, ""]
    lines.append(f"`{command}`")
    lines.append("")
    for backend in backends:
        lines += [f"## {backend.name}", "", "| measure | result | baseline (same run) | notes |"]
        lines.append("|---|---|---|---|")
        lines += [f"| {r.name} | {r.value} | {r.baseline} | {r.note} |" for r in backend.rows]
        lines.append("")
    lines += ["## Reading", "", *READING, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument(
        "--pg-entries", type=int, default=None, help="entries for PostgreSQL (default: --entries)"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    backends: list[Backend] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = Path(tmp) / "keys"
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        backends.append(run_backend("SQLite (WAL, synchronous=FULL)", url, args.entries, key_dir))
        pg = None if args.skip_postgres else _pg_database(args.postgres)
        if pg is None:
            notes.append("- PostgreSQL: not measured (not reachable or skipped)")
        else:
            pg_url, drop = pg
            try:
                with create_engine(pg_url).connect() as connection:
                    version = connection.execute(text("SHOW server_version")).scalar()
                notes.append(f"- PostgreSQL {version} on the same machine (loopback)")
                pg_entries = args.pg_entries or args.entries
                backends.append(run_backend("PostgreSQL", pg_url, pg_entries, key_dir))
            finally:
                drop()
    command = "python -m bench.audit_bench " + " ".join(sys.argv[1:])
    report = write_report(backends, command, notes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
