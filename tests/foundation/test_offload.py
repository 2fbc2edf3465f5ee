"""``gateway.offload.run_sync``: the one hop off the event loop, on our own worker threads.

It must do what ``anyio.to_thread.run_sync`` did for the request path: the
result or the exception comes back, the caller's context variables go with the
call, at most ``MAX_THREADS`` threads run, and a cancelled caller still waits
for its thread to finish; every hop is counted.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from typing import Any

import pytest

from gateway import offload

_TRACE: contextvars.ContextVar[str] = contextvars.ContextVar("trace")


def test_result_exception_context_and_count() -> None:
    async def main() -> None:
        _TRACE.set("t-1")
        before = offload.hops()
        assert await offload.run_sync(lambda a, b: f"{a}{b}{_TRACE.get()}", 1, 2) == "12t-1"
        with pytest.raises(ZeroDivisionError):
            await offload.run_sync(lambda: 1 / 0)
        assert offload.hops() - before == 2
        assert offload.hops() - before == 2  # reading does not count as a hop

    asyncio.run(main())


def test_runs_off_the_loop_thread_and_reuses_threads() -> None:
    async def main() -> set[str]:
        names = set()
        for _ in range(20):
            names.add(await offload.run_sync(lambda: threading.current_thread().name))
        return names

    names = asyncio.run(main())
    assert threading.current_thread().name not in names
    assert names <= {"ketenpoort-offload"}


def test_at_most_max_threads_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offload, "MAX_THREADS", 3)
    monkeypatch.setattr(offload, "_workers", offload._Workers())
    running = 0
    peak = 0
    lock = threading.Lock()
    gate = threading.Event()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        gate.wait(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(offload.run_sync(job) for _ in range(12)))

    asyncio.run(main())
    assert peak <= 3
    assert offload._workers.threads <= 3


def test_a_cancelled_caller_waits_until_the_thread_finished() -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        started.set()
        release.wait(10)
        finished.set()

    async def main() -> None:
        task = asyncio.ensure_future(offload.run_sync(slow))
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.sleep(0.02)
        assert not task.done()  # still waiting for the thread
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished.is_set()

    asyncio.run(main())


def test_a_caller_cancelled_after_the_result_came_does_not_hang() -> None:
    async def main() -> None:
        task = asyncio.ensure_future(offload.run_sync(lambda: 1))
        await asyncio.sleep(0.05)  # delivered by now
        task.cancel()
        assert await asyncio.wait_for(asyncio.shield(task), 5) == 1 or task.cancelled()

    asyncio.run(main())


def test_a_hop_takes_no_condition_or_executor_future(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed: a hop is a SimpleQueue put and one call_soon_threadsafe.

    ``ThreadPoolExecutor`` entered a ``threading.Condition`` (its ``Future``, its
    idle ``Semaphore``) five times per hop and woke waiters through them (issue 16).
    """
    monkeypatch.setattr(offload, "_workers", offload._Workers())  # threads made below
    seen: list[str] = []

    def profile(frame: Any, what: str, _arg: Any) -> None:
        if what == "call":
            seen.append(frame.f_code.co_qualname)

    async def main() -> None:
        await offload.run_sync(lambda: None)  # the worker starts, profiled
        seen.clear()
        for _ in range(20):
            await offload.run_sync(lambda: None)

    threading.setprofile(profile)  # threads started from now on
    sys.setprofile(profile)
    try:
        asyncio.run(main())
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    locking = [s for s in seen if s.startswith(("Condition.", "Semaphore.", "Future."))]
    assert not locking, locking
