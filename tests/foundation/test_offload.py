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
import time
from collections.abc import Callable
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


class _Peak:
    """Jobs that count how many of them run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()

    def job(self, wait: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            with self.lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            wait()
            with self.lock:
                self.running -= 1

        return run


def _gather_jobs(job: Callable[[], object], count: int) -> None:
    async def main() -> None:
        await asyncio.gather(*(offload.run_sync(job) for _ in range(count)))

    asyncio.run(main())


def test_at_most_max_threads_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offload, "MAX_THREADS", 3)
    monkeypatch.setattr(offload, "_workers", offload._Workers())
    gate = threading.Event()
    counted = _Peak()
    _gather_jobs(counted.job(lambda: gate.wait(0.05)), 12)
    assert counted.peak <= 3
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


def test_beyond_the_steady_number_jobs_wait_in_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs that keep finishing never run more than the steady number at once.

    On SQLite sixteen threads for sixteen clients passed the GIL to one another at
    every statement step (issue 16); the line is what keeps that from happening.
    """
    monkeypatch.setattr(offload, "TICK_S", 2.0)  # the watcher never looks here
    monkeypatch.setattr(offload, "_workers", offload._Workers(2))
    counted = _Peak()
    _gather_jobs(counted.job(lambda: threading.Event().wait(0.002)), 30)
    assert counted.peak == 2
    assert offload._workers.threads == 2
    assert offload._workers.backlog == 0


def test_a_stalled_line_gets_more_threads_and_gives_them_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job held by a lock must not stall every job behind it: the watcher adds a thread."""
    monkeypatch.setattr(offload, "TICK_S", 0.01)
    monkeypatch.setattr(offload, "IDLE_S", 0.05)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()
    started = threading.Event()

    def held() -> int:
        started.set()
        release.wait(30)
        return threading.get_ident()

    async def main() -> list[int]:
        first = asyncio.ensure_future(offload.run_sync(held))
        while not started.is_set():
            await asyncio.sleep(0.001)
        # One steady thread, and it is held: this job waits in line until the watcher adds one.
        quick = await asyncio.wait_for(offload.run_sync(threading.get_ident), 10)
        assert not first.done()
        release.set()
        return [await first, quick]

    held_thread, quick_thread = asyncio.run(main())
    assert quick_thread != held_thread
    # With nothing waiting, the thread above the steady number leaves once idle.
    for _ in range(500):
        if offload._workers.threads == 1:
            break
        threading.Event().wait(0.01)
    assert offload._workers.threads == 1
    _gather_jobs(lambda: None, 3)
    assert offload._workers.threads == 1


def test_the_watcher_never_passes_max_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offload, "MAX_THREADS", 3)
    monkeypatch.setattr(offload, "TICK_S", 0.005)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()
    counted = _Peak()
    held = counted.job(lambda: release.wait(30))

    async def main() -> None:
        jobs = [asyncio.ensure_future(offload.run_sync(held)) for _ in range(8)]
        await asyncio.sleep(0.3)  # dozens of watcher rounds with nothing finishing
        assert offload._workers.threads == 3
        release.set()
        await asyncio.wait_for(asyncio.gather(*jobs), 10)

    asyncio.run(main())
    assert counted.peak == 3


def test_the_steady_number_is_bounded() -> None:
    for wrong in (0, -1, offload.MAX_THREADS + 1):
        with pytest.raises(ValueError, match="steady threads"):
            offload.set_steady_threads(wrong)


def test_held_threads_are_replaced_while_quick_jobs_keep_finishing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Requests held by a lock must not cut everyone else down to one thread.

    The first version grew only when no job at all finished for 10 ms, so one
    free thread finishing quick jobs kept the pool from growing (found in review).
    """
    monkeypatch.setattr(offload, "TICK_S", 0.01)
    monkeypatch.setattr(offload, "_workers", offload._Workers(2))
    release = threading.Event()
    held: list[None] = []
    counted = _Peak()
    quick = counted.job(lambda: threading.Event().wait(0.003))

    def hold() -> None:
        held.append(None)
        release.wait(30)

    async def main() -> None:
        holding = [asyncio.ensure_future(offload.run_sync(hold)) for _ in range(2)]
        while len(held) < 2:
            await asyncio.sleep(0.001)
        await asyncio.wait_for(asyncio.gather(*(offload.run_sync(quick) for _ in range(60))), 20)
        release.set()
        await asyncio.gather(*holding)

    asyncio.run(main())
    # The steady number beside the held ones, not fewer (more only if a quick job
    # itself spanned two ticks on a loaded box and was counted as waiting).
    assert counted.peak >= 2


def test_a_cancelled_job_waiting_in_line_never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offload, "TICK_S", 30.0)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()
    ran: list[str] = []

    async def main() -> None:
        first = asyncio.ensure_future(offload.run_sync(release.wait, 30))
        await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(offload.run_sync(ran.append, "waited"))
        await asyncio.sleep(0.01)
        assert offload._workers.backlog == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiting, 1)  # at once, not after the held job
        release.set()
        await first
        assert await offload.run_sync(lambda: "after") == "after"

    asyncio.run(main())
    assert ran == []
    assert (offload._workers.threads, offload._workers.idle, offload._workers.backlog) == (1, 1, 0)


def test_a_raised_steady_size_drains_the_line_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offload, "TICK_S", 30.0)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()
    counted = _Peak()
    held = counted.job(lambda: release.wait(30))

    async def main() -> None:
        jobs = [asyncio.ensure_future(offload.run_sync(held)) for _ in range(4)]
        await asyncio.sleep(0.05)
        assert counted.peak == 1
        offload.set_steady_threads(4)
        for _ in range(500):
            if counted.running == 4:
                break
            await asyncio.sleep(0.01)
        assert counted.running == 4
        release.set()
        await asyncio.gather(*jobs)

    asyncio.run(main())


def test_a_thread_that_cannot_start_leaves_no_job_or_count_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workers = offload._Workers(1)
    monkeypatch.setattr(offload, "_workers", workers)
    real = offload._Workers._start
    failures = [1]

    def start(self: offload._Workers) -> None:
        if failures:
            failures.pop()
            raise RuntimeError("can't start new thread")
        real(self)

    monkeypatch.setattr(offload._Workers, "_start", start)
    ran: list[int] = []

    async def main() -> None:
        with pytest.raises(RuntimeError):
            await offload.run_sync(ran.append, 1)
        assert (workers.threads, workers.idle, workers.backlog) == (0, 0, 0)
        await offload.run_sync(ran.append, 2)

    asyncio.run(main())
    assert ran == [2]


def test_a_watcher_that_cannot_start_is_started_by_the_next_job_in_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job that found no watcher waits for a thread; the next one in line starts it.

    The first version raised after queueing the job, and left the pool unable to grow.
    """
    monkeypatch.setattr(offload, "TICK_S", 0.01)
    workers = offload._Workers(1)
    monkeypatch.setattr(offload, "_workers", workers)
    failures = [1]

    class FlakyThread(threading.Thread):
        def start(self) -> None:
            if self.name == "ketenpoort-offload-watch" and failures:
                failures.pop()
                raise RuntimeError("can't start new thread")
            super().start()

    monkeypatch.setattr(offload.threading, "Thread", FlakyThread)
    release = threading.Event()
    ran: list[int] = []

    async def main() -> None:
        first = asyncio.ensure_future(offload.run_sync(release.wait, 30))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(offload.run_sync(ran.append, 1))
        await asyncio.sleep(0.05)
        assert (workers.backlog, workers.watching, ran) == (1, False, [])
        # The next job in line starts the watcher, which replaces the held thread.
        await asyncio.wait_for(asyncio.gather(second, offload.run_sync(ran.append, 2)), 10)
        assert not first.done()
        release.set()
        await first

    asyncio.run(main())
    assert sorted(ran) == [1, 2]


def test_an_added_thread_stays_while_the_held_one_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hops behind a held job use the thread added beside it, without waiting for the watcher.

    A second review found the added thread left after each job (the held one
    counted as working), so every later hop waited for the watcher's next look.
    """
    monkeypatch.setattr(offload, "TICK_S", 0.2)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()

    async def main() -> tuple[set[int], float]:
        first = asyncio.ensure_future(offload.run_sync(release.wait, 30))
        await asyncio.sleep(0.01)
        used = {await asyncio.wait_for(offload.run_sync(threading.get_ident), 10)}
        began = time.monotonic()
        for _ in range(19):
            used.add(await offload.run_sync(threading.get_ident))
        took = time.monotonic() - began
        release.set()
        await first
        return used, took

    used, took = asyncio.run(main())
    assert len(used) == 1  # one added thread, kept
    assert took < 1.0  # 19 hops, not 19 looks of the watcher (3.8 s)


def test_jobs_that_wait_on_the_server_get_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slow answers (no CPU used) must not cap the pool at the steady size."""
    monkeypatch.setattr(offload, "TICK_S", 0.01)
    monkeypatch.setattr(offload, "_workers", offload._Workers(2))
    counted = _Peak()
    _gather_jobs(counted.job(lambda: threading.Event().wait(0.2)), 20)
    assert counted.peak >= 10


def test_jobs_that_work_do_not_grow_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs that use CPU (or wait their turn for the GIL) are not waiting: no more threads.

    With a rule on wall time alone, CPU-bound jobs looked held under load and the
    pool grew to 15-24 threads (found in review), losing what the steady size saves.
    """
    monkeypatch.setattr(offload, "TICK_S", 0.05)
    monkeypatch.setattr(offload, "_workers", offload._Workers(2))
    counted = _Peak()

    def burn() -> None:
        end = time.thread_time() + 0.15
        while time.thread_time() < end:
            pass

    _gather_jobs(counted.job(burn), 12)
    assert counted.peak <= 3  # 2, or one more on a box that starved a thread for a tick


def test_a_job_run_to_its_end_runs_when_its_caller_is_cancelled_in_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What the copy drop relies on (gateway/brokering/copying.py): a query cancelled
    while its drop waits in line must still drop what the source overruled; a
    failure after the caller left is logged by its type, never its message."""
    monkeypatch.setattr(offload, "TICK_S", 30.0)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()
    ran: list[str] = []

    def drop_then_fail(what: str) -> None:
        ran.append(what)
        raise RuntimeError("999990019 must not be logged")

    async def main() -> None:
        first = asyncio.ensure_future(offload.run_sync(release.wait, 30))
        await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(offload.run_to_end(drop_then_fail, "dropped"))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        await first
        for _ in range(500):
            if "RuntimeError" in caplog.text:
                break
            await asyncio.sleep(0.01)

    with caplog.at_level("WARNING", logger="gateway.offload"):
        asyncio.run(main())
    assert ran == ["dropped"]
    assert "drop_then_fail failed after its caller was cancelled: RuntimeError" in caplog.text
    assert "999990019" not in caplog.text


def test_a_job_run_to_its_end_answers_its_caller_as_run_sync_does() -> None:
    async def main() -> None:
        assert await offload.run_to_end(lambda a: a + 1, 1) == 2
        with pytest.raises(ZeroDivisionError):
            await offload.run_to_end(lambda: 1 / 0)

    asyncio.run(main())


def test_the_pool_returns_to_its_steady_size_while_the_line_stays_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Threads added beside held jobs leave once those work again, even with jobs in line.

    A third review found that a thread finding a job in line always took it, so
    36 briefly held requests left 32 threads running CPU-bound jobs at once.
    """
    monkeypatch.setattr(offload, "TICK_S", 0.01)
    workers = offload._Workers(2)
    monkeypatch.setattr(offload, "_workers", workers)
    release = threading.Event()
    after: list[int] = []

    def held() -> None:
        release.wait(30)

    def burn() -> None:
        end = time.thread_time() + 0.002
        while time.thread_time() < end:
            pass

    async def main() -> None:
        holding = [asyncio.ensure_future(offload.run_sync(held)) for _ in range(8)]
        line = [asyncio.ensure_future(offload.run_sync(burn)) for _ in range(600)]
        for _ in range(500):
            if workers.threads >= 10:
                break
            await asyncio.sleep(0.01)
        assert workers.threads >= 10  # eight held, the steady two beside them
        release.set()
        await asyncio.gather(*holding)
        while not all(job.done() for job in line):
            after.append(workers.threads)
            await asyncio.sleep(0.02)
        await asyncio.gather(*line)

    asyncio.run(main())
    assert after and min(after[len(after) // 2 :]) <= 3, after


def test_raising_the_steady_size_never_passes_max_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offload, "MAX_THREADS", 6)
    monkeypatch.setattr(offload, "TICK_S", 0.005)
    workers = offload._Workers(1)
    monkeypatch.setattr(offload, "_workers", workers)
    release = threading.Event()

    async def main() -> None:
        jobs = [asyncio.ensure_future(offload.run_sync(release.wait, 30)) for _ in range(12)]
        for _ in range(500):
            if workers.threads == 6:
                break
            await asyncio.sleep(0.01)
        workers.resize(5)
        assert workers.threads == 6
        release.set()
        await asyncio.gather(*jobs)

    asyncio.run(main())


def test_without_a_cpu_clock_a_long_job_counts_as_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the platform has no per-thread CPU clock, the job's age decides."""
    monkeypatch.setattr(offload, "TICK_S", 0.01)
    monkeypatch.setattr(offload, "_cpu_clock", lambda: None)
    monkeypatch.setattr(offload, "_workers", offload._Workers(1))
    release = threading.Event()

    async def main() -> None:
        first = asyncio.ensure_future(offload.run_sync(release.wait, 30))
        await asyncio.sleep(0.01)
        assert await asyncio.wait_for(offload.run_sync(lambda: "beside"), 10) == "beside"
        release.set()
        await first

    asyncio.run(main())
