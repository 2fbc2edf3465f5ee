"""Retention purge on PostgreSQL: rows purged per second, and request p99 meanwhile.

Seeds ``--rows`` expired time-limited copies (plus 10 % unexpired ones that
must survive) with ``COPY``, starts a real gateway on loopback and runs a
simple request loop (``GET /health/ready``: a database round trip and the
schema check) first alone (baseline), then during the purge by the real
``RetentionRunner`` in batches. Writes bench/results/retention.md.

    python -m bench.retention_bench --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.report import Figure, Section, percentile, render, write
from gateway.app import create_app
from gateway.cli.serve import prepare
from gateway.copies.models import CachedCopy
from gateway.demo.serving import BackgroundServer, bind_socket, url_of
from gateway.retention.rules import ExpiredCopies
from gateway.retention.runner import RetentionRunner
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SEED_CHUNK = 100_000


def _seed(dsn: str, rows: int, now: datetime) -> None:
    """COPY ``rows`` expired copies and rows/10 unexpired ones."""
    expired = (now - timedelta(days=1)).isoformat()
    alive = (now + timedelta(days=30)).isoformat()
    stored = (now - timedelta(days=31)).isoformat()
    sealed = "A" * 160  # the size of a small sealed record
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        columns = "case_id, source, category, record_id, key_id, sealed, stored_at, expires_at"
        total = rows + rows // 10
        for start in range(0, total, SEED_CHUNK):
            buffer = io.StringIO()
            for n in range(start, min(total, start + SEED_CHUNK)):
                expires = expired if n < rows else alive
                buffer.write(
                    f"c-{n // 20:020d}\tpolitie-demo\thuisvesting\trec-{n}\tdk-bench\t"
                    f"{sealed}\t{stored}\t{expires}\n"
                )
            with cursor.copy(f"COPY cached_copies ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        conn.commit()
        cursor.execute("ANALYZE cached_copies")


class _Loop:
    """One client sending requests back to back; latencies in seconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                response = client.get(self.url)
                self.samples.append(time.perf_counter() - started)
                if response.status_code != 200:
                    self.errors += 1

    def start(self) -> _Loop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pause", type=float, default=0.01, help="seconds between batches")
    parser.add_argument("--baseline-s", type=float, default=10.0)
    args = parser.parse_args()

    base = os.environ.get("KETENPOORT_BENCH_POSTGRES_URL", DEFAULT_PG)
    name = f"ketenpoort_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    workdir = ROOT / "var" / f"bench-retention-{uuid.uuid4().hex[:6]}"
    try:
        settings = Settings(
            database_url=url,
            key_dir=workdir / "keys",
            policy_dir=ROOT / "policies",
            dev_mode=True,
        )
        runtime = prepare(settings)
        now = datetime.now(UTC)
        seeding = time.perf_counter()
        _seed(url, args.rows, now)
        seed_s = time.perf_counter() - seeding
        print(f"seeded {args.rows} expired rows in {seed_s:.1f} s")

        sock = bind_socket("127.0.0.1", 0)
        server = BackgroundServer(create_app(settings, runtime), sock=sock)
        server.start()
        ready = url_of(sock) + "/health/ready"
        baseline = _Loop(ready).start()
        time.sleep(args.baseline_s)
        baseline.stop()

        runner = RetentionRunner(
            runtime.db,
            runtime.audit,
            lambda: runtime.policy.current,
            rules=[ExpiredCopies()],
            now=lambda: now,
            batch_size=args.batch,
            pause_s=args.pause,
        )
        during = _Loop(ready).start()
        purging = time.perf_counter()
        report = asyncio.run(runner.run())
        purge_s = time.perf_counter() - purging
        during.stop()
        server.stop()
        purged = report.rule("copies").rows
        with runtime.db.session() as session:
            left = session.query(CachedCopy).count()
        runtime.close()
        assert purged == args.rows and left == args.rows // 10, (purged, left)
        print(f"purged {purged} rows in {purge_s:.1f} s")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    base_p99, during_p99 = percentile(baseline.samples, 0.99), percentile(during.samples, 0.99)
    section = Section(
        f"Purge of {args.rows:,} expired copies (PostgreSQL, batches of {args.batch}, "
        f"{args.pause * 1000:.0f} ms pause)",
        [
            Figure(
                "rows purged per second",
                f"{purged / purge_s:,.0f} rows/s ({purge_s:.1f} s)",
                note=f"{args.rows // 10:,} unexpired rows kept; seeding by COPY {seed_s:.1f} s",
            ),
            Figure(
                "GET /health/ready p99 during purge",
                f"p50 {_ms(percentile(during.samples, 0.5))}, p99 {_ms(during_p99)}",
                f"p50 {_ms(percentile(baseline.samples, 0.5))}, p99 {_ms(base_p99)}",
                f"{during_p99 / base_p99:.1f}x",
                "≤ 10x baseline p99, no errors",
                during_p99 <= 10 * base_p99 and during.errors == 0,
                f"{len(during.samples)} requests during, {len(baseline.samples)} baseline, "
                f"{during.errors} errors",
            ),
        ],
    )
    path = write(
        "retention.md",
        render(
            "Retention purge",
            f"python -m bench.retention_bench --rows {args.rows}",
            [section],
            [f"- PostgreSQL: {base.split('@')[-1]}"],
        ),
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
