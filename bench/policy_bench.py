"""Policy decisions per second and per-decision latency, against a dict lookup.

``python -m bench.policy_bench [--quick]``. The requests are a mix over the
demo covenant: every requester x source x category, so permits, denials at
each step and needs_consent all occur. The baseline is the cheapest thing a
decision could possibly be: one dict lookup of the same key tuple.
"""

from __future__ import annotations

import argparse
import itertools
import time
from datetime import date
from pathlib import Path

from bench.report import Figure, Section, median, percentile, render, write
from gateway.policy.compiled import CompiledPolicy, compile_policy
from gateway.policy.decision import CaseView, DecisionRequest, Outcome, decide
from gateway.policy.loader import load_policy_dir

REPO_POLICIES = Path(__file__).resolve().parent.parent / "policies"
TODAY = date(2027, 6, 1)
GOAL_P50_US = 20.0


def requests(policy: CompiledPolicy) -> list[DecisionRequest]:
    cov = policy.covenants["zvh-demo"]
    parties = sorted(cov.parties)
    case = CaseView("zvh-demo", "pga-casusoverleg", "casusoverleg", "open", frozenset(parties))
    return [
        DecisionRequest("zvh-demo", "pga-casusoverleg", requester, case, source, category)
        for requester, source, category in itertools.product(
            parties, parties, sorted(cov.categories)
        )
    ]


def _timed(fn: object, items: list[DecisionRequest], rounds: int) -> tuple[float, list[float]]:
    """Throughput over ``rounds`` passes, and per-call latency samples of one pass."""
    assert callable(fn)
    start = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            fn(item)
    rate = rounds * len(items) / (time.perf_counter() - start)
    samples = []
    clock = time.perf_counter_ns
    for item in items:
        t0 = clock()
        fn(item)
        samples.append((clock() - t0) / 1000)
    return rate, samples


def run(rounds: int) -> Section:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    items = requests(policy)
    outcomes = {decide(policy, TODAY, item).outcome for item in items}
    assert outcomes == set(Outcome), outcomes
    table = {(r.requester_party, r.source_party, r.category): True for r in items}

    def baseline(item: DecisionRequest) -> object:
        return table.get((item.requester_party, item.source_party, item.category))

    def decision(item: DecisionRequest) -> object:
        return decide(policy, TODAY, item)

    d_rate, d_lat = _timed(decision, items, rounds)
    b_rate, b_lat = _timed(baseline, items, rounds)
    p50, p99 = median(d_lat), percentile(d_lat, 0.99)
    section = Section("Policy decisions (compiled covenant, one thread)")
    section.figures = [
        Figure(
            "decisions per second",
            f"{d_rate:,.0f} /s",
            f"dict lookup {b_rate:,.0f} /s",
            f"{d_rate / b_rate:.0%} of lookup",
        ),
        Figure(
            "decision latency p50",
            f"{p50:.2f} µs",
            f"dict lookup {median(b_lat):.2f} µs",
            f"{p50 / median(b_lat):.1f}x",
            f"≤ {GOAL_P50_US:g} µs",
            p50 <= GOAL_P50_US,
        ),
        Figure(
            "decision latency p99",
            f"{p99:.2f} µs",
            f"dict lookup {percentile(b_lat, 0.99):.2f} µs",
            "",
            "",
            None,
            f"{len(items):,} distinct requests x {rounds} rounds; timer overhead included",
        ),
    ]
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    section = run(rounds=5 if args.quick else 50)
    text = render("Policy benchmark", "python -m bench.policy_bench", [section], [])
    print(text)
    write("policy.md", text)


if __name__ == "__main__":
    main()
