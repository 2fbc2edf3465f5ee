"""Brokered query vs. the source called directly vs. a bare forwarding proxy.

``python -m bench.query_bench [--quick] [--profile]``. Three targets answer the
same lookup about the same person from the same demo source process: the
source itself (baseline), a bare FastAPI proxy that only forwards (the
"cost of any Python hop" baseline), and the gateway doing everything a
brokered query does (token check, case load, policy, consent check, source
token, fan-out, minimisation, durable audit append). Each server is its own
process; the load comes from this one. Runs on SQLite and, if reachable,
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import processes
from bench.audit_bench import DEFAULT_PG, _pg_database
from bench.load import LoadResult, Target, gateway_ok, json_ok, run_load
from bench.report import Figure, Section, median, percentile, render, write
from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import load_partner_key
from gateway.demo.stack import DEMO_COVENANT
from gateway.demodata.people import demo_people

PURPOSE = "pga-casusoverleg"
REQUESTER = "gemeente-demo"
SOURCE = "gemeente-demo"
CATEGORY = "huisvesting"
LEVELS = (1, 16, 64)


@dataclass
class Targets:
    direct: Target
    proxy: Target
    gateway: Target


@contextmanager
def running_stack(database_url: str, workdir: Path, profile: Path | None) -> Iterator[Targets]:
    with ExitStack() as stack:
        sources, urls = processes.start_sources()
        stack.callback(processes.stop, sources)
        policy_dir, key_dir = processes.prepare_workdir(workdir, urls)
        gw_port, proxy_port = processes.free_port(), processes.free_port()
        env = processes.gateway_env(database_url, policy_dir, key_dir, gw_port)
        gateway = processes.start_gateway(env, gw_port, profile)
        stack.callback(processes.stop, gateway)
        proxy = processes.start_proxy(urls[SOURCE], proxy_port)
        stack.callback(processes.stop, proxy)
        yield _targets(f"http://127.0.0.1:{gw_port}", urls[SOURCE], proxy_port, key_dir)


def _targets(base_url: str, source_url: str, proxy_port: int, key_dir: Path) -> Targets:
    client = PartnerClient(base_url, REQUESTER, load_partner_key(key_dir, REQUESTER))
    try:
        client.login(DEMO_COVENANT, PURPOSE)
        bsn = demo_people()[0].bsn.reveal()
        opened = client.open_case(DEMO_COVENANT, PURPOSE, bsn, [REQUESTER], "casusoverleg")
        opened.raise_for_status()
        case_id = str(opened.json()["id"])
        headers = client.headers()
    finally:
        client.close()
    lookup = json.dumps(
        {
            "subject": {"bsn": bsn},
            "categories": [CATEGORY],
            "convenant": DEMO_COVENANT,
            "purpose": PURPOSE,
            "case": case_id,
            "requester": {"party": REQUESTER, "employee": "bench"},
        }
    ).encode()
    query = json.dumps({"categories": [CATEGORY], "sources": [SOURCE]}).encode()
    return Targets(
        Target("source directly", source_url + "/lookup", lookup, {}, json_ok),
        Target("bare FastAPI proxy", f"http://127.0.0.1:{proxy_port}/lookup", lookup, {}, json_ok),
        Target("gateway", f"{base_url}/v1/cases/{case_id}/queries", query, headers, gateway_ok),
    )


def _lat(result: LoadResult) -> str:
    p50 = median(result.latencies) * 1000
    p99 = percentile(result.latencies, 0.99) * 1000
    return f"{result.rate:,.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def measure(targets: Targets, seconds: float, backend: str) -> Section:
    section = Section(f"Brokered query, durable log on {backend}")
    errors = 0
    for level in LEVELS:
        direct = run_load(targets.direct, level, seconds)
        proxy = run_load(targets.proxy, level, seconds)
        gateway = run_load(targets.gateway, level, seconds)
        errors += direct.errors + proxy.errors + gateway.errors
        if level == 1:
            section.figures += _added_latency(direct, gateway)
        section.figures.append(
            Figure(
                f"{level} concurrent clients: gateway",
                _lat(gateway),
                f"direct: {_lat(direct)}",
                f"{gateway.rate / direct.rate:.0%} of direct",
                "≥ 1,500 req/s" if level > 1 else "",
                gateway.rate >= 1500 if level > 1 else None,
                f"{len(gateway.latencies):,} requests, {gateway.errors} errors",
            )
        )
        section.figures.append(
            Figure(
                f"{level} concurrent clients: gateway vs. bare proxy",
                f"{gateway.rate:,.0f} req/s",
                f"bare proxy: {_lat(proxy)}",
                f"{gateway.rate / proxy.rate:.0%} of proxy",
                "≥ 25% of proxy",
                gateway.rate >= 0.25 * proxy.rate,
            )
        )
    section.text.append(f"Errors across all runs: {errors}.")
    return section


def _added_latency(direct: LoadResult, gateway: LoadResult) -> list[Figure]:
    out = []
    for name, q, goal_ms in (("p50", 0.5, 1.0), ("p99", 0.99, 5.0)):
        d, g = percentile(direct.latencies, q) * 1000, percentile(gateway.latencies, q) * 1000
        out.append(
            Figure(
                f"added latency {name}, 1 client",
                f"{g - d:.2f} ms (gateway {g:.2f} ms)",
                f"direct {d:.2f} ms",
                f"{g / d:.1f}x",
                f"≤ {goal_ms:g} ms",
                g - d <= goal_ms,
            )
        )
    return out


def _backends(postgres: str | None) -> Iterator[tuple[str, str, Callable[[], None]]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "SQLite (WAL, synchronous=FULL)", f"sqlite:///{Path(tmp) / 'bench.db'}", lambda: None
    if postgres:
        pg = _pg_database(postgres)
        if pg is not None:
            yield "PostgreSQL (loopback)", pg[0], pg[1]


def run(seconds: float, postgres: str | None) -> list[Section]:
    sections = []
    for name, url, drop in _backends(postgres):
        print(f"[query] {name}", flush=True)
        try:
            with tempfile.TemporaryDirectory() as work, running_stack(url, Path(work), None) as t:
                sections.append(measure(t, seconds, name))
        finally:
            drop()
    return sections


def profile(seconds: float, out: Path) -> None:
    """The gateway under pyinstrument (main thread: the event loop) at 16 clients."""
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'bench.db'}"
        with running_stack(url, Path(work), out.resolve()) as targets:
            result = run_load(targets.gateway, 16, seconds)
            print(f"[profile] {_lat(result)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="write a profile here")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 6.0)
    if args.profile is not None:
        profile(seconds, args.profile)
        return
    pg = None if args.skip_postgres else os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
    text = render("Query benchmark", "python -m bench.query_bench", run(seconds, pg), [])
    print(text)
    write("query.md", text)


if __name__ == "__main__":
    main()
