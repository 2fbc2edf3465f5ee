"""What one brokered query costs in machine instructions: ``python -m bench.query_instructions``.

Python calls (``bench.query_cost``) miss the work done in C (the event loop,
SQLite, hashing, sealing, JSON), and CPU time per request moves with the
machine: on the shared 2-vCPU VMs the bare proxy's own CPU per request moved
by half between back-to-back runs. Instructions do not: the gateway runs as in
``bench.query_bench`` but under valgrind's callgrind (Debian ``valgrind``),
with instrumentation off until warm-up is done; then the counters are zeroed,
``N`` sequential queries run, and the user-space instructions of the whole
process (every thread, background ones included) are dumped and divided by
``N``. Kernel work (system calls, round trips to PostgreSQL) is not counted.
The gateway runs ~50 times slower meanwhile, so ``N`` stays small.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import processes, query_bench, wrk
from bench.query_cost import bench_database
from bench.report import machine_lines, write

WARM_UP = 5


@contextmanager
def _gateway_under_callgrind(out: Path) -> Iterator[None]:
    """``processes`` starts the gateway under callgrind while this block lasts."""
    plain, wait = processes._python, processes.wait_until_up

    def python(
        *args: str, env: Mapping[str, str] | None = None, stdin: int | None = None
    ) -> subprocess.Popen[str]:
        if args[:3] != ("-m", "bench.servers", "gateway"):
            return plain(*args, env=env, stdin=stdin)
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        command += [f"--callgrind-out-file={out}/callgrind.%p", sys.executable, *args]
        return subprocess.Popen(
            command,
            cwd=processes.REPO,
            env={**os.environ, **(env or {})},
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def slow_wait(url: str, timeout_s: float, process: subprocess.Popen[str] | None = None) -> None:
        wait(url, max(timeout_s, 900.0), process=process)

    processes._python, processes.wait_until_up = python, slow_wait  # type: ignore[assignment]
    try:
        yield
    finally:
        processes._python, processes.wait_until_up = plain, wait


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, stdout=subprocess.DEVNULL)


def _instructions(out: Path, pid: int) -> int:
    """The total of the last dump of ``pid`` (its ``summary:`` or ``totals:`` line)."""
    dumps = sorted(glob.glob(f"{out}/callgrind.{pid}*"), key=os.path.getmtime)
    for line in Path(dumps[-1]).read_text(encoding="utf-8").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def instructions_per_query(database_url: str, queries: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as work,
        _gateway_under_callgrind(Path(work)),
        query_bench.running_stack(database_url, Path(work), None) as stack,
        httpx.Client(timeout=300) as client,
    ):
        pid = str(stack.pids["gateway"])
        figures: dict[str, float] = {}
        for target in (stack.gateway, stack.gateway4):
            for _ in range(WARM_UP):
                _checked(client, target)
            _control("-i", "on", pid)
            for _ in range(WARM_UP):
                _checked(client, target)
            _control("-z", pid)
            for _ in range(queries):
                _checked(client, target)
            _control("-d", pid)
            _control("-i", "off", pid)
            figures[target.name] = _instructions(Path(work), int(pid)) / queries
        return figures


def _checked(client: httpx.Client, target: wrk.WrkTarget) -> None:
    headers = {"content-type": "application/json", **target.headers}
    client.post(target.url, content=target.body, headers=headers).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (Debian package valgrind)")
    with bench_database(args.postgres, "instructions.db") as url:
        flag = " --postgres" if args.postgres else ""
        lines = ["# Query cost in instructions (callgrind)", "", *machine_lines(), ""]
        lines += [f"`python -m bench.query_instructions --queries {args.queries}{flag}`", ""]
        for name, count in instructions_per_query(url, args.queries).items():
            lines.append(f"- {name}: {count / 1e6:.2f} M user-space instructions per query")
        text = "\n".join(lines)
        print(text)
        suffix = "-postgres" if args.postgres else ""
        write(f"query-instructions{suffix}.md", text)


if __name__ == "__main__":
    main()
