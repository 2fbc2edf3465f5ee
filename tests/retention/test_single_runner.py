"""Two instances never purge twice: one run lock across instances (advisory lock on
PostgreSQL, lease row on SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from gateway.audit.search import EntryQuery, search_entries
from gateway.copies.models import CachedCopy
from gateway.retention import Progress, RunReport
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.retention.support import SECOND, T0, add_copy, count, run, runner_at, runtime_for

ROWS = 60


@pytest.fixture
def two(settings: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    """Two runtimes, each with its own engine and pool: two gateway instances."""
    first = runtime_for(settings)
    second = runtime_for(settings)
    yield next(first), next(second)
    for generator in (first, second):
        generator.close()


def _expired_copies(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        for n in range(ROWS):
            add_copy(session, f"c-{n % 5}", f"rec-{n}", T0 - timedelta(days=1))


class _Holding(Progress):
    """Stops the run inside its first batch until told to go on."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.go_on = threading.Event()

    def advance(self, rule: str, done: int) -> None:
        if rule == "copies":
            self.inside.set()
            assert self.go_on.wait(30)


def _certified_rows(runtime: Runtime) -> list[int]:
    with runtime.db.session() as session:
        page = search_entries(session, runtime.audit.vault, EntryQuery(kind="deletion", limit=100))
    return [int(e["records"]) for e in page.entries if e["reason"] == "copies"]


def test_a_second_instance_skips_while_the_first_holds_the_lock(
    two: tuple[Runtime, Runtime],
) -> None:
    first, second = two
    _expired_copies(first)
    holding = _Holding()
    import asyncio

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            lambda: asyncio.run(runner_at(first, T0 + SECOND, batch_size=7).run(progress=holding))
        )
        assert holding.inside.wait(30)
        other = run(runner_at(second, T0 + SECOND))
        holding.go_on.set()
        done: RunReport = running.result(60)
    assert other.skipped and other.rules == []
    assert not done.skipped and done.rule("copies").rows == ROWS
    assert _certified_rows(first) == [ROWS]
    again = run(runner_at(second, T0 + SECOND))  # lock released: the next run works
    assert not again.skipped and again.rule("copies").rows == 0


def test_racing_instances_purge_each_row_once(two: tuple[Runtime, Runtime]) -> None:
    first, second = two
    _expired_copies(first)
    start = threading.Barrier(2)

    def race(runtime: Runtime) -> RunReport:
        runner = runner_at(runtime, T0 + SECOND, batch_size=5)
        start.wait(10)
        return run(runner)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(race, [first, second]))
    worked = [r for r in reports if not r.skipped]
    assert worked, "someone must have run"
    assert sum(r.rule("copies").rows for r in worked) == ROWS
    assert sum(_certified_rows(first)) == ROWS
    with first.db.session() as session:
        assert count(session, CachedCopy) == 0
