"""How coroutines wait for the group commit: one wake-up of their loop per commit, and a
caller that stops waiting before the writer takes its request is not written."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog, AuditUnavailable
from gateway.audit.store import head_size
from gateway.storage.db import Database
from tests.audit.conftest import event

CALLERS = 64


def _holding(
    release: threading.Event, started: threading.Event
) -> Callable[[Session], list[AuditEvent]]:
    """A prepare that keeps the writer in its batch until ``release`` is set."""

    def prepare(_session: Session) -> list[AuditEvent]:
        started.set()
        release.wait(10)
        return [event(1000)]

    return prepare


def test_a_batch_of_coroutines_wakes_their_loop_once(audit_log: AuditLog) -> None:
    """64 callers queued behind one busy batch commit together, and the writer hands
    their 64 outcomes to the loop in one thread-safe call (before: one per caller,
    each a write to the loop's self-pipe and a callback of its own)."""
    audit_log.start()
    release, started = threading.Event(), threading.Event()

    async def run() -> tuple[int, list[list[int]]]:
        loop = asyncio.get_running_loop()
        calls = [0]
        original = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
        first = asyncio.ensure_future(audit_log.append_after(_holding(release, started)))
        while not started.is_set():
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(audit_log.append([event(n)])) for n in range(CALLERS)]
        await asyncio.sleep(0.05)  # all 64 are queued behind the held batch
        release.set()
        results = await asyncio.gather(first, *rest)
        return calls[0], results

    calls, results = asyncio.run(run())
    assert results[0] == [0]
    assert sorted(s for r in results[1:] for s in r) == list(range(1, CALLERS + 1))
    assert calls == 2, calls  # the held batch, then the 64 callers' batch
    audit_log.stop()


@pytest.mark.parametrize("how", ["timed out", "cancelled"])
def test_a_caller_that_stops_waiting_before_its_batch_is_not_written(
    audit_log: AuditLog, db: Database, how: str
) -> None:
    audit_log.timeout_s = 0.2  # the caller waits 0.7 s; the writer is held longer
    audit_log.start()
    release, started = threading.Event(), threading.Event()

    async def run() -> None:
        held = asyncio.ensure_future(audit_log.append_after(_holding(release, started)))
        while not started.is_set():
            await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(audit_log.append([event(1)]))
        if how == "timed out":
            with pytest.raises(AuditUnavailable, match="did not commit in time"):
                await waiting
        else:
            await asyncio.sleep(0.05)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        audit_log.timeout_s = 5.0  # the rest need not race a loaded machine
        release.set()
        await asyncio.gather(held, return_exceptions=True)  # committed, waited for or not
        assert await audit_log.append([event(2)]) == [1]

    asyncio.run(run())
    audit_log.stop()
    with db.session() as session:
        assert head_size(session) == 2  # the held entry and event 2; not event 1


def test_an_entry_the_encoder_refuses_fails_alone_not_its_whole_batch(
    audit_log: AuditLog, db: Database
) -> None:
    """An entry that cannot be written for what it holds (an integer beyond JSON's safe
    range) failed every request of its group commit: other callers' queries got a 503."""
    audit_log.start()
    release, started = threading.Event(), threading.Event()

    async def run() -> list[object]:
        held = asyncio.ensure_future(audit_log.append_after(_holding(release, started)))
        while not started.is_set():
            await asyncio.sleep(0.01)
        good = [asyncio.ensure_future(audit_log.append([event(n)])) for n in range(3)]
        bad = asyncio.ensure_future(audit_log.append([event(9, details={"n": 2**60})]))
        more = asyncio.ensure_future(audit_log.append([event(10)]))
        await asyncio.sleep(0.05)  # all queued behind the held batch: one batch
        release.set()
        return await asyncio.gather(held, *good, bad, more, return_exceptions=True)

    results = asyncio.run(run())
    audit_log.stop()
    assert isinstance(results[4], AuditUnavailable)
    written = [r for i, r in enumerate(results) if i != 4]
    assert all(isinstance(r, list) and len(r) == 1 for r in written), results
    with db.session() as session:
        assert head_size(session) == 5
