"""Inzage as the audit log grows: ``python -m bench.inzage_bench [--sizes N ...] [--quick]``.

Issue 10's goal is an inzage (the person's timeline of disclosures, read from
the log and decrypted with their data keys) within 100 ms over 10M entries.
For each size a fresh SQLite log (WAL, synchronous=FULL) is built through the
real append path (``AuditLog.append_sync``: sealing, Merkle subtrees, search
index), signed and fully verified; one person's entries are spread evenly
across it and every other entry is about one of 2,000 other people. Then
``assemble_inzage`` is timed for that person, each call in its own session
as ``RightsDesk.inzage`` does (without the desk's own log append).

The baseline, in the same run, is the same person's inzage on the smallest
possible log: one holding only their own entries. The ratio is what the rest
of the log costs the person's inzage; the growth between sizes shows whether
the index lookup stays logarithmic. Sizes that would not finish within
``--budget`` seconds (estimated from the append rate so far) are skipped and
reported as not measured.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from bench.audit_bench import make_event
from bench.report import Figure, Section, median, percentile, render, write
from gateway.audit.events import AuditEvent
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import head_size
from gateway.policy.compiled import CompiledPolicy, compile_policy
from gateway.policy.loader import load_policy_dir
from gateway.rights.inzage import Inzage, assemble_inzage
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

REPO_POLICIES = Path(__file__).resolve().parent.parent / "policies"
COVENANT = "zvh-demo"
PURPOSE = "pga-casusoverleg"
TODAY = date(2027, 6, 1)
TARGET = hashlib.sha256(b"inzage-bench-target").hexdigest()
DISCLOSURES = 50
DECISIONS = 10  # denied requests about the person: indexed, but not part of the inzage
CASES = 3  # one data key per (person, case): the inzage opens three keys
# (recipient, source, category) of the person's disclosures, all in the demo covenant.
FLOWS = (
    ("gemeente-demo", "politie-demo", "huiselijk_geweld_signalen"),
    ("reclassering-demo", "gemeente-demo", "huisvesting"),
    ("ggz-demo", "verslavingszorg-demo", "middelengebruik"),
    ("politie-demo", "woningcorporatie-demo", "huisvesting"),
    ("gemeente-demo", "dji-demo", "detentie"),
)
GOAL_MS = 100.0
GOAL_ENTRIES = 10_000_000
DEFAULT_SIZES = (10_000, 100_000, 300_000)
QUICK_SIZES = (2_000, 10_000)
RUNS = 30
BATCH = 20_000  # events per append_sync call; larger batches amortise the per-commit work
DEFAULT_BUDGET_S = 240.0


def target_event(i: int) -> AuditEvent:
    """The person's ``i``-th entry: every sixth a denied request, the rest disclosures."""
    recipient, source, category = FLOWS[i % len(FLOWS)]
    denied = i % 6 == 5
    return AuditEvent(
        kind="decision" if denied else "disclosure",
        outcome="denied" if denied else "ok",
        reason="no_rule" if denied else None,
        party=recipient,
        employee=f"medewerker-{i % 7}",
        convenant=COVENANT,
        purpose=PURPOSE,
        case=f"c-inzage-{i % CASES:011d}",
        source=source,
        category=category,
        consent_id=f"cs-inzage-{i:08d}" if i % 4 == 0 else None,
        records=1 + i % 3,
        trimmed_fields=i % 2,
        subject_pseudonym=TARGET,
        covenant_version="ab" * 32,
        trace_id=f"{i + 1:032x}",
        span_id=f"{i + 1:016x}",
    )


TARGET_ENTRIES = DISCLOSURES + DECISIONS
assert sum(target_event(i).kind == "disclosure" for i in range(TARGET_ENTRIES)) == DISCLOSURES


def events(size: int) -> Iterator[AuditEvent]:
    """``size`` events; the person's entries at evenly spread positions, the rest others'."""
    if size <= TARGET_ENTRIES:
        yield from (target_event(i) for i in range(size))
        return
    spots = {(2 * i + 1) * size // (2 * TARGET_ENTRIES): i for i in range(TARGET_ENTRIES)}
    for n in range(size):
        slot = spots.get(n)
        yield make_event(n) if slot is None else target_event(slot)


@dataclass
class Log:
    folder: Path
    db: Database
    log: AuditLog
    size: int
    build_s: float
    verify_s: float
    file_bytes: int


def build_log(folder: Path, key_dir: Path, size: int, batch: int) -> Log:
    """A verified log of ``size`` entries, built through ``AuditLog.append_sync``."""
    url = f"sqlite:///{folder / 'inzage.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, key_dir=key_dir, dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=30)
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    log = build_audit_log(settings, db, signer)
    log.timeout_s = 60
    start = time.perf_counter()
    pending: list[AuditEvent] = []
    done = 0
    for item in events(size):
        pending.append(item)
        if len(pending) == batch:
            log.append_sync(pending)
            done += len(pending)
            pending = []
            if done % 100_000 == 0:
                print(f"[inzage] {size:,}: appended {done:,}", flush=True)
    log.append_sync(pending)
    build_s = time.perf_counter() - start
    log.checkpoint_now()
    with db.session() as session:
        assert head_size(session) == size
    start = time.perf_counter()
    outcome = verify_database(db, signer.jwks())
    verify_s = time.perf_counter() - start
    assert outcome.result.ok, outcome.result.problem
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    file_bytes = (folder / "inzage.db").stat().st_size
    return Log(folder, db, log, size, build_s, verify_s, file_bytes)


@dataclass
class Timing:
    samples: list[float]
    fresh: float  # first call on a new connection: SQLite's page cache empty
    shown: int
    cases: int
    plan: list[str]

    @property
    def p50(self) -> float:
        return median(self.samples) * 1000

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99) * 1000

    def text(self) -> str:
        return f"p50 {self.p50:.2f} ms, p99 {self.p99:.2f} ms"


def time_inzage(logs: list[Log], policy: CompiledPolicy, runs: int) -> list[Timing]:
    """``assemble_inzage`` for the person on each log, each call in its own session.

    The logs take turns call by call, so a baseline and the log it is compared
    with see the same machine load.
    """

    def once(built: Log) -> tuple[float, Inzage]:
        start = time.perf_counter()
        with built.db.session() as session:
            found = assemble_inzage(session, built.log.vault, policy, TARGET, TODAY)
        return time.perf_counter() - start, found

    timings: list[Timing] = []
    for built in logs:
        built.db.engine.dispose()
        fresh, found = once(built)
        assert len(found.disclosures) == DISCLOSURES, len(found.disclosures)
        assert found.withheld_count == 0
        cases = len({item.case for item in found.disclosures})
        plan = query_plan(built, policy)
        timings.append(Timing([], fresh, len(found.disclosures), cases, plan))
    for _ in range(runs):
        for built, timing in zip(logs, timings, strict=True):
            timing.samples.append(once(built)[0])
    return timings


def query_plan(built: Log, policy: CompiledPolicy) -> list[str]:
    """SQLite's plan for the index query ``assemble_inzage`` actually sends."""
    seen: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if "audit_subject_index" in statement:
            seen.append((statement, parameters))

    event.listen(built.db.engine, "before_cursor_execute", capture)
    try:
        with built.db.session() as session:
            assemble_inzage(session, built.log.vault, policy, TARGET, TODAY)
    finally:
        event.remove(built.db.engine, "before_cursor_execute", capture)
    statement, parameters = seen[0]
    with built.db.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [str(row[-1]) for row in rows]


def _size(entries: int) -> str:
    if entries >= 1_000_000 and entries % 100_000 == 0:
        return f"{entries / 1_000_000:g}M"
    if entries >= 1_000 and entries % 100 == 0:
        return f"{entries / 1_000:g}k"
    return f"{entries:,}"


@dataclass
class Point:
    size: int
    timing: Timing | None
    baseline: Timing | None
    built: Log | None = None
    skipped: str = ""


def _growth(point: Point, previous: Point | None) -> str:
    """Growth of the ratio to the baseline, which cancels drift in the machine's load."""
    if previous is None:
        return ""
    assert point.timing is not None and point.baseline is not None
    assert previous.timing is not None and previous.baseline is not None
    before = previous.timing.p50 / previous.baseline.p50
    after = point.timing.p50 / point.baseline.p50
    log_factor = math.log2(point.size) / math.log2(previous.size)
    return (
        f"vs. {_size(previous.size)}: {point.size / previous.size:g}x the entries, ratio "
        f"{before:.2f}x → {after:.2f}x (log₂ n grows {log_factor:.2f}x)"
    )


def _row(label: str, point: Point, previous: Point | None) -> Figure:
    assert point.timing is not None and point.baseline is not None and point.built is not None
    notes = [
        _growth(point, previous),
        f"fresh connection {point.timing.fresh * 1000:.1f} ms",
        f"built at {point.size / point.built.build_s:,.0f} appends/s, verified",
        f"file {point.built.file_bytes / 2**20:,.0f} MiB",
    ]
    return Figure(
        label,
        point.timing.text(),
        f"own entries only: {point.baseline.text()}",
        f"{point.timing.p50 / point.baseline.p50:.2f}x",
        note="; ".join(note for note in notes if note),
    )


def figures(points: list[Point]) -> list[Figure]:
    rows: list[Figure] = []
    previous: Point | None = None
    for point in points:
        label = f"inzage at {point.size:,} entries"
        if point.timing is None:
            rows.append(Figure(label, "not measured", note=point.skipped))
            continue
        rows.append(_row(label, point, previous))
        previous = point
    goal = f"≤ {GOAL_MS:g} ms at 10M"
    measured = [p for p in points if p.timing is not None and p.built is not None]
    at_goal = next((p for p in measured if p.size >= GOAL_ENTRIES), None)
    if at_goal is not None:
        row = _row(f"inzage at {GOAL_ENTRIES:,} entries (goal)", at_goal, None)
        assert at_goal.timing is not None
        row.goal, row.met = goal, at_goal.timing.p99 <= GOAL_MS
        row.note = f"measured at {at_goal.size:,} entries; judged on p99"
        rows.append(row)
        return rows
    note = "nothing measured"
    if measured:
        largest = measured[-1]
        assert largest.built is not None
        minutes = GOAL_ENTRIES / (largest.size / largest.built.build_s) / 60
        note = (
            f"largest measured: {largest.size:,} entries; building 10M through the append "
            f"path would take ~{minutes:,.0f} min at the last rate "
            "(e.g. --sizes 10000000 --budget 3600)"
        )
    rows.append(
        Figure(f"inzage at {GOAL_ENTRIES:,} entries", "not measured", "", "", goal, None, note)
    )
    return rows


def run(sizes: list[int], runs: int, batch: int, budget_s: float) -> tuple[Section, list[str]]:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    started = time.perf_counter()
    points: list[Point] = []
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = Path(tmp) / "keys"

        def build(size: int, name: str) -> Log:
            folder = Path(tmp) / name
            folder.mkdir()
            return build_log(folder, key_dir, size, batch)

        print(f"[inzage] baseline: {TARGET_ENTRIES} entries", flush=True)
        own = build(TARGET_ENTRIES, "baseline")
        rate: float | None = None
        for size in sorted(set(sizes)):
            elapsed = time.perf_counter() - started
            estimate = size / rate if rate else 0.0
            if points and elapsed + estimate > budget_s:
                points.append(
                    Point(
                        size,
                        None,
                        None,
                        skipped=f"building would take ~{estimate:,.0f} s more; over the "
                        f"--budget of {budget_s:g} s ({elapsed:,.0f} s used)",
                    )
                )
                continue
            print(f"[inzage] building {size:,} entries", flush=True)
            built = build(size, f"log-{size}")
            timing, baseline = time_inzage([built, own], policy, runs)
            built.db.dispose()
            shutil.rmtree(built.folder)
            rate = size / built.build_s
            print(
                f"[inzage] {size:,}: built in {built.build_s:.1f} s, verified in "
                f"{built.verify_s:.1f} s, inzage {timing.text()} (own entries only: "
                f"{baseline.text()})",
                flush=True,
            )
            points.append(Point(size, timing, baseline, built))
        own.db.dispose()
    section = Section("Inzage for one person (SQLite, WAL, synchronous=FULL)", figures(points))
    section.text = _reading(points)
    if measured := [p for p in points if p.timing is not None]:
        largest = measured[-1]
        assert largest.timing is not None
        section.text += ["", f"SQLite's plan for the inzage query at {largest.size:,} entries:", ""]
        section.text += [f"    {step}" for step in largest.timing.plan]
    notes = [
        f"- The person: {TARGET_ENTRIES} entries in the log ({DISCLOSURES} disclosures shown, "
        f"{DECISIONS} denied requests filtered out) over {CASES} cases, so "
        f"{CASES} data keys to open; every other entry is about one of 2,000 people",
        f"- Baseline: a log of only the person's {TARGET_ENTRIES} entries, timed in the same "
        f"loop (calls alternate with the measured log's); {runs} timed calls each, after one "
        f"on a fresh connection",
        f"- Logs built with {batch:,} events per append_sync call, checkpointed and fully "
        "verified before timing; each is deleted after its measurement",
    ]
    return section, notes


def _reading(points: list[Point]) -> list[str]:
    lines = [
        "The query walks the subject index's primary key (pseudonym, seq) to the person's",
        "entries and fetches each body by seq: a B-tree descent, then one row per entry, so",
        "the cost should grow with log n (the tree's depth), not with n. The baseline does",
        "the same per-entry work (JSON parsing, unwrapping the data keys, opening each",
        "sealed subject) on a log with nothing else in it; the ratio is what the rest of",
        "the log adds.",
        "All timings are warm: the database file is in the OS page cache and the pages",
        "the query touches in SQLite's page cache (the fresh-connection call starts with",
        "an empty SQLite cache, not an empty OS cache).",
    ]
    built = [p.built for p in points if p.built is not None]
    if built:
        largest = built[-1]
        per_entry = largest.file_bytes / largest.size
        gigabytes = per_entry * GOAL_ENTRIES / 1e9
        lines.append(
            f"At {largest.size:,} entries the file holds {per_entry:,.0f} B per entry "
            f"(entry, subtrees, index, keys), so a 10M log is about {gigabytes:,.0f} GB: "
            "a first inzage there may read from disk, up to one page per entry plus the "
            "index descent."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="log sizes to measure")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed inzage calls per size")
    parser.add_argument("--batch", type=int, default=BATCH, help="events per append call")
    parser.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds; larger sizes skipped"
    )
    args = parser.parse_args()
    sizes = args.sizes or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if min(sizes) <= TARGET_ENTRIES:
        parser.error(f"sizes must exceed the person's {TARGET_ENTRIES} entries")
    section, notes = run(sizes, args.runs, args.batch, args.budget)
    command = "python -m bench.inzage_bench " + " ".join(sys.argv[1:])
    text = render("Inzage benchmark", command.strip(), [section], notes)
    print(text)
    write("inzage.md", text)


if __name__ == "__main__":
    main()
