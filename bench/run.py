"""Every benchmark, one after another: ``python -m bench.run [--quick]`` (``make bench``).

Each benchmark runs in its own process and writes its table to
bench/results/<name>.md with the machine and date; ``--quick`` shrinks
durations and sizes so the whole set finishes in a few minutes (the figures
are then noisier, and go to bench/results/quick/; the committed tables come
from a full run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.processes import REPO
from bench.report import RESULTS_DIR, RESULTS_ENV

QUICK_DIR = RESULTS_DIR / "quick"


def plan(quick: bool) -> list[list[str]]:
    if quick:
        quick_out = ["--out", str(QUICK_DIR / "audit.md")]
        return [
            ["bench.policy_bench", "--quick"],
            ["bench.checkpoint_bench", "--samples", "8"],
            ["bench.audit_bench", "--entries", "20000", "--pg-entries", "10000", *quick_out],
            ["bench.audit_scale_bench", "--quick"],
            ["bench.query_bench", "--quick"],
            ["bench.query_cost", "--queries", "10"],
            ["bench.inzage_bench", "--quick"],
            ["bench.workers_bench", "--quick"],
        ]
    return [
        ["bench.policy_bench"],
        ["bench.checkpoint_bench", "--samples", "30"],
        ["bench.audit_bench", "--entries", "1000000", "--pg-entries", "250000"],
        ["bench.audit_scale_bench", "--sizes", "250000", "1000000", "10000000"],
        ["bench.query_bench"],
        ["bench.query_cost"],
        ["bench.inzage_bench"],
        ["bench.workers_bench"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, small logs")
    args = parser.parse_args()
    env = {**os.environ, RESULTS_ENV: str(QUICK_DIR)} if args.quick else None
    failed = []
    for command in plan(args.quick):
        print(f"== {' '.join(command)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", *command], cwd=REPO, env=env)
        print(f"== {command[0]}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code != 0:
            failed.append(command[0])
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
