"""Throughput with one and with two gateway workers, and how the two share the work.

``python -m bench.workers_bench [--quick]``. ``ketenpoort serve --workers N``
on PostgreSQL (each worker its own SO_REUSEPORT socket), loaded by ``wrk``
(Debian package; C, so the load generator costs little CPU next to the
gateway) with brokered queries on keep-alive connections. For two workers the
CPU ticks each worker process spent (``/proc/<pid>/stat``) show the split;
with ``uvicorn --workers`` (one shared accept socket) it was 11 vs 1,015
ticks. Needs PostgreSQL (``KETENPOORT_TEST_POSTGRES_URL``, default the local
test server) and ``wrk``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import processes
from bench.audit_bench import DEFAULT_PG, _pg_database
from bench.report import Figure, Section, render, write
from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import load_partner_key
from gateway.demo.stack import DEMO_COVENANT
from gateway.demodata.people import demo_people

PURPOSE = "pga-casusoverleg"
REQUESTER = "gemeente-demo"
CONNECTIONS = 16

LUA = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{authorization}"
wrk.headers["X-Ketenpoort-Employee"] = "bench"
"""


def ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def worker_pids(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return sorted(found)


@contextmanager
def serving(database_url: str, workdir: Path, workers: int) -> Iterator[tuple[str, int]]:
    """(base URL, serve's pid) of ``ketenpoort serve --workers N`` with the demo sources."""
    sources, urls = processes.start_sources()
    gateway: subprocess.Popen[str] | None = None
    try:
        policy_dir, key_dir = processes.prepare_workdir(workdir, urls)
        port = processes.free_port()
        env = processes.gateway_env(database_url, policy_dir, key_dir, port)
        args = ["-m", "gateway.cli.main", "serve", "--port", str(port), "--workers", str(workers)]
        gateway = subprocess.Popen(
            [sys.executable, *args],
            cwd=processes.REPO,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        processes.wait_until_up(base + "/health/ready", 90, gateway)
        yield base, gateway.pid
    finally:
        if gateway is not None:
            processes.stop(gateway)
        processes.stop(sources)


def _script(base: str, key_dir: Path, out: Path) -> str:
    """A wrk script for brokered queries on a fresh case; returns the query URL."""
    client = PartnerClient(base, REQUESTER, load_partner_key(key_dir, REQUESTER))
    try:
        client.login(DEMO_COVENANT, PURPOSE)
        bsn = demo_people()[0].bsn.reveal()
        opened = client.open_case(DEMO_COVENANT, PURPOSE, bsn, [REQUESTER], "casusoverleg")
        opened.raise_for_status()
        case_id = str(opened.json()["id"])
        authorization = client.headers()["Authorization"]
    finally:
        client.close()
    body = json.dumps({"categories": ["huisvesting"], "sources": [REQUESTER]})
    out.write_text(LUA.format(body=body, authorization=authorization), encoding="utf-8")
    return f"{base}/v1/cases/{case_id}/queries"


def _wrk(url: str, script: Path, seconds: float) -> dict[str, float]:
    wrk = shutil.which("wrk")
    assert wrk is not None
    done = subprocess.run(
        [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds:.0f}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done)
    total = int(re.search(r"(\d+) requests in", done).group(1))  # type: ignore[union-attr]
    latency = {}
    for pct in ("50", "99"):
        found = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", done)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            latency[pct] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return {
        "rate": rate,
        "total": total,
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
    }


def measure(postgres: str, seconds: float) -> Section:
    section = Section(f"Brokered queries on PostgreSQL, {CONNECTIONS} wrk connections")
    rates: dict[int, float] = {}
    for workers in (1, 2):
        pg = _pg_database(postgres)
        if pg is None:
            raise SystemExit(f"PostgreSQL at {postgres} is not reachable")
        url, drop = pg
        try:
            with tempfile.TemporaryDirectory() as work:
                workdir = Path(work)
                with serving(url, workdir, workers) as (base, pid):
                    target = _script(base, workdir / "keys", workdir / "query.lua")
                    _wrk(target, workdir / "query.lua", 2)  # warm-up
                    pids = worker_pids(pid) if workers > 1 else [pid]
                    load_avg = os.getloadavg()[0]
                    before = {p: ticks(p) for p in pids}
                    result = _wrk(target, workdir / "query.lua", seconds)
                    spent = {p: ticks(p) - before[p] for p in pids}
        finally:
            drop()
        rates[workers] = result["rate"]
        shares = ", ".join(f"{t / max(1, sum(spent.values())):.0%}" for t in spent.values())
        section.figures.append(
            Figure(
                f"serve --workers {workers}",
                f"{result['rate']:,.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms",
                f"1 worker: {rates[1]:,.0f} req/s" if workers > 1 else "",
                f"{result['rate'] / rates[1]:.2f}x" if workers > 1 else "",
                "each worker ≥ 25% of the CPU" if workers > 1 else "",
                min(spent.values()) / max(1, sum(spent.values())) >= 0.25 if workers > 1 else None,
                f"CPU ticks per worker {list(spent.values())} ({shares}); "
                f"{int(result['total']):,} requests, {int(result['errors'])} non-2xx; "
                f"machine load average {load_avg:.1f} when the run began",
            )
        )
    section.text.append(
        "Two cores in all, shared by wrk, the demo source, PostgreSQL and the "
        "workers: a second worker can only add what the first leaves idle."
    )
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/system-deps.sh installs it)")
    seconds = args.seconds or (4.0 if args.quick else 12.0)
    postgres = os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
    text = render(
        "Worker benchmark",
        "python -m bench.workers_bench",
        [measure(postgres, seconds)],
        [],
    )
    print(text)
    write("workers.md", text)


if __name__ == "__main__":
    main()
