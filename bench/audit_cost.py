"""What one audit append costs, counted rather than timed: ``python -m bench.audit_cost``.

On a shared 2-core box wall-clock rates move with everything else running;
the number of Python function calls per appended entry does not, and the
process CPU time per entry (``time.process_time``) moves far less. Two
shapes, as ``bench.audit_bench`` drives them: batches of 1,000 events through
``append_sync``, and 64 concurrent asyncio callers appending one event each
through the group-commit writer. For the second, how many commits the writer
made and how many entries each held are reported too (both depend on timing;
the calls per entry depend on them a little). On Linux also the bytes the
process handed to ``write``/``pwrite`` per entry (``wchar`` in ``/proc/self/io``:
the WAL frames and the checkpoint's copies on SQLite), which the box's load does
not move; ``--fill N`` first grows the log to ``N`` entries, since SQLite's pages
per entry grow with its indexes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import gateway.audit.log as log_module
from bench.audit_bench import DEFAULT_PG, _pg_database, make_event
from gateway.audit import store
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

BATCH = 1000
CALLERS = 64


@dataclass
class Cost:
    shape: str
    entries: int
    calls: int
    cpu_s: float
    commits: int
    written: int | None = None

    def line(self) -> str:
        written = "n/a" if self.written is None else f"{self.written / self.entries:,.0f} B"
        return (
            f"| {self.shape} | {self.calls / self.entries:,.1f} | "
            f"{self.cpu_s / self.entries * 1e6:,.0f} µs | "
            f"{self.entries / max(1, self.commits):,.1f} | {written} |"
        )


def written_bytes() -> int | None:
    """Bytes this process passed to write calls so far (Linux), else ``None``."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class _Counter:
    """Python calls (``call`` events) in every thread while counting."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self.calls += 1  # the GIL makes this exact enough for whole-run totals


@contextmanager
def counting(enabled: bool) -> Iterator[_Counter]:
    counter = _Counter()
    if enabled:
        threading.setprofile(counter.hook)
        sys.setprofile(counter.hook)
    try:
        yield counter
    finally:
        if enabled:
            sys.setprofile(None)
            threading.setprofile(None)


@contextmanager
def counting_commits() -> Iterator[list[int]]:
    """How many group commits (``write_batch`` calls by the log) run meanwhile."""
    commits = [0]
    original = store.write_batch

    def counted(*args: Any, **kwargs: Any) -> Any:
        commits[0] += 1
        return original(*args, **kwargs)

    setattr(log_module, "write_batch", counted)  # noqa: B010 - the log's own name for it
    try:
        yield commits
    finally:
        setattr(log_module, "write_batch", original)  # noqa: B010


def batched(log: AuditLog, base: int, entries: int) -> None:
    for start in range(base, base + entries, BATCH):
        log.append_sync([make_event(n) for n in range(start, min(base + entries, start + BATCH))])


def concurrent(log: AuditLog, base: int, entries: int) -> None:
    rounds = entries // CALLERS

    async def run() -> None:
        async def caller(i: int) -> None:
            for r in range(rounds):
                await log.append([make_event(base + i * rounds + r)])

        await asyncio.gather(*(caller(i) for i in range(CALLERS)))

    asyncio.run(run())


def measure(
    log: AuditLog,
    shape: str,
    run: Callable[[AuditLog, int, int], None],
    entries: int,
    base: int,
    count_calls: bool,
) -> Cost:
    log.stop()  # a writer thread started inside ``counting`` is counted too
    with counting_commits() as commits, counting(count_calls) as counter:
        log.start()
        before = written_bytes()
        cpu = time.process_time()
        run(log, base, entries)
        cpu = time.process_time() - cpu
        log.stop()
        after = written_bytes()
    log.start()
    written = None if before is None or after is None else after - before
    return Cost(shape, entries, counter.calls, cpu, commits[0], written)


def profile(log: AuditLog, run: Callable[[AuditLog, int, int], None], entries: int) -> None:
    profiler = cProfile.Profile()
    log.stop()
    profiler.enable()
    log._stopping.clear()

    def writer() -> None:
        profiler.enable()  # the writer under the same profiler
        log._write_loop()

    log._writer = threading.Thread(target=writer, name="audit-writer", daemon=True)
    log._writer.start()
    try:
        run(log, 10_000_000, entries)
    finally:
        log.stop()
        profiler.disable()
    pstats.Stats(profiler).sort_stats(os.environ.get("AUDIT_COST_SORT", "tottime")).print_stats(40)


def backend(name: str, url: str, entries: int, key_dir: Path, args: argparse.Namespace) -> None:
    migrate.upgrade(url)
    settings = Settings(database_url=url, key_dir=key_dir, dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=30)
    log = build_audit_log(settings, db, Ed25519Signer(Ed25519PrivateKey.generate()))
    log.timeout_s = 60
    log.start()
    try:
        batched(log, 0, 2 * BATCH)  # warm-up: keys created, statements compiled
        concurrent(log, 2 * BATCH, CALLERS * 10)
        if args.fill:
            batched(log, 100_000_000, args.fill)
        if args.profile:
            print(f"## {name}: {args.profile}")
            profile(log, batched if args.profile == "batched" else concurrent, entries)
            return
        rows: list[Cost] = []
        shapes: tuple[tuple[str, Callable[[AuditLog, int, int], None], int], ...] = (
            (f"batches of {BATCH}", batched, entries),
            (f"{CALLERS} callers x 1 event", concurrent, entries // 2),
        )
        for label, run, count in shapes:
            cpu = measure(log, label, run, count, 1_000_000 * (len(rows) + 1), False)
            calls = measure(log, label, run, count, 1_000_000 * (len(rows) + 3), True)
            rows.append(Cost(label, count, calls.calls, cpu.cpu_s, cpu.commits, cpu.written))
        print(f"## {name}" + (f", after {args.fill:,} entries" if args.fill else "") + "\n")
        print(
            "| shape | Python calls per entry | CPU per entry | entries per commit"
            " | bytes written per entry |"
        )
        print("|---|---|---|---|---|")
        for row in rows:
            print(row.line())
        print()
    finally:
        log.stop()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument(
        "--fill", type=int, default=0, help="grow the log to this many entries before measuring"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--profile", choices=("batched", "concurrent"), help="print a cProfile instead"
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start\n")
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = Path(tmp) / "keys"
        if not args.skip_sqlite:
            url = f"sqlite:///{Path(tmp) / 'cost.db'}"
            backend("SQLite", url, args.entries, key_dir, args)
        if not args.skip_postgres:
            pg = _pg_database(args.postgres)
            if pg is None:
                raise SystemExit("PostgreSQL not reachable")
            pg_url, drop = pg
            try:
                backend("PostgreSQL", pg_url, args.entries, key_dir, args)
            finally:
                drop()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
