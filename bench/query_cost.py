"""What one brokered query costs, counted rather than timed: ``python -m bench.query_cost``.

On a shared 2-core box the wall-clock and even the CPU-per-request figures
move with everything else running; the number of Python function calls the
gateway process makes per query does not. The gateway runs as in
``bench.query_bench`` (its own process, SQLite or PostgreSQL) with a call
counter in every thread; after warm-up queries the counter is read, ``N``
sequential queries run, and it is read again. Background threads (the
checkpointer, the policy watcher) run on their own schedule whatever the load;
their calls are counted apart (``bench.servers.BACKGROUND_THREADS``) and shown
beside the figure, not in it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import query_bench, wrk
from bench.audit_bench import DEFAULT_PG, _pg_database
from bench.report import machine_lines, write


def _read(out: Path, pid: int, lines: int) -> int:
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = out.read_text(encoding="utf-8") if out.exists() else ""
        if len(text.splitlines()) > lines:
            return int(text.splitlines()[lines])
        time.sleep(0.05)
    raise RuntimeError("the gateway did not report its call count")


def _background(out: Path, index: int) -> int:
    """The calls of the background threads at the ``index``-th report (bench.servers)."""
    return int(Path(f"{out}.background").read_text(encoding="utf-8").splitlines()[index])


def _functions(out: Path, index: int) -> Counter[tuple[str, str]]:
    line = Path(f"{out}.functions").read_text(encoding="utf-8").splitlines()[index]
    return Counter({(callee, caller): n for callee, caller, n in json.loads(line)})


def _short(name: str) -> str:
    for marker in ("/site-packages/", "/hotpath2/", "/lib/python3"):
        if marker in name:
            return name.split(marker, 1)[1]
    return name


def by_function_lines(
    name: str, calls: Counter[tuple[str, str]], queries: int, top: int
) -> list[str]:
    """The ``top`` functions by calls per query, each with its main callers."""
    per_function: Counter[str] = Counter()
    callers: dict[str, Counter[str]] = {}
    for (callee, caller), n in calls.items():
        per_function[callee] += n
        callers.setdefault(callee, Counter())[caller] += n
    lines = [f"## {name}: calls per query by function (top {top})", ""]
    for callee, n in per_function.most_common(top):
        via = ", ".join(f"{_short(c)} {k / queries:.1f}" for c, k in callers[callee].most_common(3))
        lines.append(f"- {n / queries:7.1f}  {_short(callee)}  <- {via}")
    return lines


def calls_per_query(
    database_url: str, queries: int, by_function: int = 0
) -> tuple[dict[str, float], list[str]]:
    detail: list[str] = []
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "calls.txt"
        os.environ["BENCH_COUNT_CALLS"] = str(out)
        if by_function:
            os.environ["BENCH_COUNT_CALLS_BY_FUNCTION"] = "1"
        try:
            with query_bench.running_stack(database_url, Path(work), None) as stack:
                figures: dict[str, float] = {}
                with httpx.Client(timeout=30) as client:
                    for target in (stack.gateway, stack.gateway4):
                        headers = {"content-type": "application/json", **target.headers}

                        def ask(
                            target: wrk.WrkTarget = target, headers: dict[str, str] = headers
                        ) -> None:
                            answer = client.post(target.url, content=target.body, headers=headers)
                            answer.raise_for_status()

                        for _ in range(5):
                            ask()
                        pid = stack.pids["gateway"]
                        lines = len(out.read_text().splitlines()) if out.exists() else 0
                        before = _read(out, pid, lines)
                        for _ in range(queries):
                            ask()
                        after = _read(out, pid, lines + 1)
                        figures[target.name] = (after - before) / queries
                        apart = _background(out, lines + 1) - _background(out, lines)
                        figures[f"{target.name}, background threads"] = apart / queries
                        if by_function:
                            diff = _functions(out, lines + 1)
                            diff.subtract(_functions(out, lines))
                            detail += by_function_lines(target.name, diff, queries, by_function)
                return figures, detail
        finally:
            os.environ.pop("BENCH_COUNT_CALLS", None)
            os.environ.pop("BENCH_COUNT_CALLS_BY_FUNCTION", None)


@contextmanager
def bench_database(postgres: bool, sqlite_file: str) -> Iterator[str]:
    """A fresh database for one benchmark run: a SQLite file, or a PostgreSQL one dropped after."""
    with tempfile.TemporaryDirectory() as tmp:
        if not postgres:
            yield f"sqlite:///{Path(tmp) / sqlite_file}"
            return
        pg = _pg_database(os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG))
        if pg is None:
            raise SystemExit("PostgreSQL not reachable")
        url, drop = pg
        try:
            yield url
        finally:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--by-function",
        type=int,
        default=0,
        metavar="N",
        help="also print the N functions with the most calls per query, with their main "
        "callers (the counts are the same; the gateway runs slower meanwhile)",
    )
    args = parser.parse_args()
    with bench_database(args.postgres, "cost.db") as url:
        lines = ["# Query cost, counted", "", *machine_lines(), ""]
        flag = " --postgres" if args.postgres else ""
        lines.append(f"`python -m bench.query_cost --queries {args.queries}{flag}`")
        lines.append("")
        figures, detail = calls_per_query(url, args.queries, args.by_function)
        for name, calls in figures.items():
            where = "left out above" if name.endswith("background threads") else "gateway process"
            lines.append(f"- {name}: {calls:,.0f} Python calls per query ({where})")
        text = "\n".join(lines)
        print(text)
        if detail:
            print("\n" + "\n".join(detail))
        else:
            write("query-cost-postgres.md" if args.postgres else "query-cost.md", text)


if __name__ == "__main__":
    main()
