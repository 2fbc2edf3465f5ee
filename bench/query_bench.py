"""Brokered query vs. the source called directly vs. a bare forwarding proxy, under ``wrk``.

``python -m bench.query_bench [--quick] [--seconds N] [--skip-postgres] [--python-load]``.
Targets, all answering the same lookup about the same person from the same
demo source process: the source itself, a bare FastAPI proxy that only
forwards (the cost of any Python hop), and the gateway doing a whole brokered
query (token check, case load, policy, consent check, source token, fan-out,
minimisation, durable audit append) with one source and with four. Each
server is its own process; the load comes from ``wrk`` (C, one thread), and
each server's CPU per request from ``/proc/<pid>/stat``. Runs on SQLite and,
if reachable, PostgreSQL. ``--python-load`` falls back to :mod:`bench.load`
where ``wrk`` is missing (no CPU accounting then).
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

from bench import processes, wrk
from bench.audit_bench import DEFAULT_PG, _pg_database
from bench.load import Target, gateway_ok, json_ok, run_load
from bench.report import machine_lines, median, percentile, write
from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import load_partner_key
from gateway.demo.stack import DEMO_COVENANT
from gateway.demodata.people import demo_people

PURPOSE = "pga-casusoverleg"
REQUESTER = "gemeente-demo"
SOURCE = "gemeente-demo"
CATEGORY = "huisvesting"
FOUR_SOURCES = ("gemeente-demo", "woningcorporatie-demo", "reclassering-demo", "ggz-demo")
FOUR_CATEGORIES = ("huisvesting", "sociale_relaties")
LEVELS = (1, 16)
MIN_REQUESTS = 50

# Issue 16: the same benchmark on 62d5261, same machine (req/s 1 client, p50, req/s 16, CPU/req).
BEFORE = {
    "source directly": ("3,255", "0.28 ms", "3,554", "0.29 ms"),
    "bare FastAPI proxy": ("540", "1.80 ms", "540", "1.3–1.9 ms"),
    "gateway, SQLite": ("100", "9.37 ms", "97", "8.7–10.6 ms"),
    "gateway, PostgreSQL": ("75", "12.75 ms", "74", "10.9 ms (+ PostgreSQL's own)"),
}


@dataclass
class Stack:
    direct: wrk.WrkTarget
    proxy: wrk.WrkTarget
    gateway: wrk.WrkTarget
    gateway4: wrk.WrkTarget
    pids: dict[str, int]


@contextmanager
def running_stack(database_url: str, workdir: Path, profile: Path | None) -> Iterator[Stack]:
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
        base = f"http://127.0.0.1:{gw_port}"
        pids = {"gateway": gateway.pid, "proxy": proxy.pid, "sources": sources.pid}
        yield _targets(base, urls[SOURCE], proxy_port, key_dir, pids)


def _targets(
    base_url: str, source_url: str, proxy_port: int, key_dir: Path, pids: dict[str, int]
) -> Stack:
    client = PartnerClient(base_url, REQUESTER, load_partner_key(key_dir, REQUESTER))
    try:
        client.login(DEMO_COVENANT, PURPOSE)
        bsn = demo_people()[0].bsn.reveal()
        opened = client.open_case(DEMO_COVENANT, PURPOSE, bsn, [REQUESTER], "casusoverleg")
        opened.raise_for_status()
        case_id = str(opened.json()["id"])
        headers = dict(client.headers())
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
    url = f"{base_url}/v1/cases/{case_id}/queries"
    one = json.dumps({"categories": [CATEGORY], "sources": [SOURCE]}).encode()
    four = json.dumps({"categories": list(FOUR_CATEGORIES), "sources": list(FOUR_SOURCES)})
    return Stack(
        wrk.WrkTarget("source directly", source_url + "/lookup", lookup, {}),
        wrk.WrkTarget("bare FastAPI proxy", f"http://127.0.0.1:{proxy_port}/lookup", lookup, {}),
        wrk.WrkTarget("gateway", url, one, headers, check_results=True),
        wrk.WrkTarget("gateway, 4 sources", url, four.encode(), headers, check_results=True),
        pids,
    )


def _cpu(result: wrk.WrkResult, *names: str) -> str:
    return " + ".join(f"{result.cpu_ms[n]:.2f} ms ({n})" for n in names)


def measure(stack: Stack, seconds: float, backend: str) -> list[tuple[str, wrk.WrkResult, str]]:
    """Every target at 1 and 16 clients: (row label, result, CPU cell)."""
    rows = []
    for level in LEVELS:
        for target, label, accounted in (
            (stack.direct, "source directly", ("sources",)),
            (stack.proxy, "bare FastAPI proxy", ("proxy",)),
            (stack.gateway, f"gateway, {backend}", ("gateway",)),
            (stack.gateway4, f"gateway, {backend}, 4 sources", ("gateway",)),
        ):
            print(f"[query] {label}, {level} clients", flush=True)
            result = wrk.run(target, level, seconds, stack.pids)
            rows.append((label, result, _cpu(result, *accounted)))
    return rows


def _backends(postgres: str | None) -> Iterator[tuple[str, str, Callable[[], None]]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", lambda: None
    if postgres:
        pg = _pg_database(postgres)
        if pg is not None:
            yield "PostgreSQL", pg[0], pg[1]


def run(seconds: float, postgres: str | None) -> dict[str, list[tuple[str, wrk.WrkResult, str]]]:
    out = {}
    for name, url, drop in _backends(postgres):
        try:
            with tempfile.TemporaryDirectory() as work, running_stack(url, Path(work), None) as s:
                out[name] = measure(s, seconds, name)
        finally:
            drop()
    return out


def _table(rows: list[tuple[str, wrk.WrkResult, str]]) -> list[str]:
    lines = [
        "| target | clients | req/s | p50 | p99 | errors | server CPU per request "
        "| 62d5261 (req/s, p50, CPU/req) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r, cpu in rows:
        before = BEFORE.get(label)
        was = ""
        if before is not None:
            rate = before[0] if r.clients == 1 else before[2]
            was = f"{rate} req/s, " + (f"p50 {before[1]}, " if r.clients == 1 else "") + before[3]
        # a 10 ms tick over a handful of requests says nothing
        shown = cpu if r.requests >= MIN_REQUESTS else f"not measured ({r.requests} answered)"
        lines.append(
            f"| {label} | {r.clients} | {r.rate:,.0f} | {r.p50_ms:.2f} ms | {r.p99_ms:.2f} ms "
            f"| {r.errors} | {shown} | {was} |"
        )
    return lines


def _find(rows: list[tuple[str, wrk.WrkResult, str]], label: str, clients: int) -> wrk.WrkResult:
    return next(r for name, r, _ in rows if name == label and r.clients == clients)


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def goals(backend: str, rows: list[tuple[str, wrk.WrkResult, str]]) -> list[str]:
    gw1, gw16 = _find(rows, f"gateway, {backend}", 1), _find(rows, f"gateway, {backend}", 16)
    four16 = _find(rows, f"gateway, {backend}, 4 sources", 16)
    px1, px16 = _find(rows, "bare FastAPI proxy", 1), _find(rows, "bare FastAPI proxy", 16)
    cpu1, cpu4 = gw16.cpu_ms["gateway"], four16.cpu_ms["gateway"]
    add50, add99 = gw1.p50_ms - px1.p50_ms, gw1.p99_ms - px1.p99_ms
    share = gw16.rate / px16.rate if px16.rate else 0.0
    return [
        "| goal | measured | met? |",
        "|---|---|---|",
        f"| gateway CPU per query, 1 source ≤ 2 ms | {cpu1:.2f} ms (16 clients) "
        f"| {_verdict(cpu1 <= 2.0)} |",
        f"| gateway CPU per query, 4 sources ≤ 3 ms | {cpu4:.2f} ms (16 clients) "
        f"| {_verdict(cpu4 <= 3.0)} |",
        f"| 16-client throughput ≥ 50 % of the bare proxy | {gw16.rate:,.0f} vs "
        f"{px16.rate:,.0f} req/s = {share:.0%} | {_verdict(share >= 0.5)} |",
        f"| added latency p50 over the bare proxy ≤ 1 ms (1 client) | {add50:+.2f} ms "
        f"({gw1.p50_ms:.2f} vs {px1.p50_ms:.2f}) | {_verdict(add50 <= 1.0)} |",
        f"| added latency p99 over the bare proxy ≤ 5 ms (1 client) | {add99:+.2f} ms "
        f"({gw1.p99_ms:.2f} vs {px1.p99_ms:.2f}) | {_verdict(add99 <= 5.0)} |",
    ]


def render(results: dict[str, list[tuple[str, wrk.WrkResult, str]]], seconds: float) -> str:
    lines = [
        "# Query benchmark (wrk)",
        "",
        *machine_lines(),
        "",
        f"`python -m bench.query_bench --seconds {seconds:g}`: `wrk -t1 -cN -d{seconds:g}s` "
        "after a 1 s warm-up per run; CPU per request = growth of utime+stime of the "
        "server process tree (`/proc/<pid>/stat`) over the run / requests answered. "
        "An error is a socket error, a non-200, or (gateway) any result whose status is "
        "not `ok`. The 62d5261 column is issue 16's run of the same targets on this machine.",
        "",
    ]
    load = os.getloadavg()[0]
    lines += [f"Machine load average (1 min) when the report was written: {load:.1f}.", ""]
    for backend, rows in results.items():
        lines += [f"## Gateway on {backend}", "", *_table(rows), "", *goals(backend, rows), ""]
    return "\n".join(lines)


def run_python(seconds: float) -> str:
    """Fallback without wrk: the Python load generator (it shares the cores; no CPU figures)."""
    lines = ["# Query benchmark (Python load generator fallback; wrk missing)", ""]
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'bench.db'}"
        with running_stack(url, Path(work), None) as s:
            for level in LEVELS:
                for t, accept in ((s.direct, json_ok), (s.proxy, json_ok), (s.gateway, gateway_ok)):
                    r = run_load(Target(t.name, t.url, t.body, t.headers, accept), level, seconds)
                    p50 = median(r.latencies) * 1000
                    p99 = percentile(r.latencies, 0.99) * 1000
                    lines.append(
                        f"- {t.name}, {level} clients: {r.rate:,.0f} req/s, p50 {p50:.2f} ms, "
                        f"p99 {p99:.2f} ms, {r.errors} errors"
                    )
    return "\n".join(lines)


def profile(seconds: float, out: Path) -> None:
    """The gateway under pyinstrument (main thread: the event loop) at 16 clients."""
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'bench.db'}"
        with running_stack(url, Path(work), out.resolve()) as stack:
            result = wrk.run(stack.gateway, 16, seconds, stack.pids)
            print(f"[profile] {result.rate:,.0f} req/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="write a profile here")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--python-load", action="store_true", help="no wrk: Python load")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    if args.profile is not None:
        profile(seconds, args.profile)
        return
    if args.python_load or not wrk.available():
        text = run_python(seconds)
    else:
        env_pg = os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
        pg = None if args.skip_postgres else env_pg
        text = render(run(seconds, pg), seconds)
    print(text)
    write("query.md", text)


if __name__ == "__main__":
    main()
