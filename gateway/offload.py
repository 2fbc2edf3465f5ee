"""The one way the request path leaves the event loop for blocking (database) work.

Every hop to a worker thread costs a context switch and a few hundred
microseconds of scheduling under load; the brokered query is budgeted at a
fixed number of them (tests/brokering/test_query_budget.py). Routing every
hop through :func:`run_sync` lets that guard count them without timing
anything, so the budget cannot flake.

The hop is a queue of jobs served by worker threads of our own and an asyncio
future rather than ``anyio.to_thread.run_sync``: anyio's capacity limiter,
run-var lookups and cancel scopes cost about 130 Python calls per hop on the
event loop (counted by ``bench.query_cost``). Nor is it a
``concurrent.futures.ThreadPoolExecutor``: its per-job ``Future`` (a
``threading.Condition`` entered and notified on submit, start and result) and
its idle-worker ``Semaphore`` (another Condition, on submit and after every
job) were ~25 Python calls and several futex wake-ups per hop (issue 16). Here
a job is a tuple on a ``queue.SimpleQueue`` (C), the pool's bookkeeping is an
integer under a ``threading.Lock`` (entered in C), and the result goes back
with one ``call_soon_threadsafe``: three Python calls per hop besides the work.
What anyio gave is kept: the caller's context variables (the trace) go with
the call, at most :data:`MAX_THREADS` threads run at once (anyio's default;
further jobs wait in the queue), and a cancelled caller still waits until the
thread finished before it sees the cancellation, so no transaction outlives
the request that started it.

The workers are daemon threads: every job is awaited by a coroutine, so when
the event loop has finished its tasks no job runs; a forked child starts
without them and makes its own on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

MAX_THREADS = 40  # anyio's default thread limiter

# A job: (function, args, context, loop, future, state); ``state`` is
# [finished, waiter]: set on the loop once the work is done, and the future a
# cancelled caller waits on until then.
_Job = tuple[
    Callable[..., Any],
    tuple[Any, ...],
    contextvars.Context,
    asyncio.AbstractEventLoop,
    "asyncio.Future[Any]",
    list[Any],
]


class _Workers:
    """The worker threads and their queue of jobs (one per process)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads = 0
        self.idle = 0

    def submit(self, job: _Job) -> None:
        with self.lock:
            if self.idle:  # a waiting worker takes it
                self.idle -= 1
                spawn = False
            else:
                spawn = self.threads < MAX_THREADS
                if spawn:
                    self.threads += 1
        if spawn:  # before the job is queued: a thread that cannot start leaves no job behind
            try:
                threading.Thread(target=self._serve, name="ketenpoort-offload", daemon=True).start()
            except BaseException:
                with self.lock:
                    self.threads -= 1
                raise
        self.jobs.put(job)

    def _serve(self) -> None:
        jobs, lock = self.jobs, self.lock
        while True:
            function, args, context, loop, future, state = jobs.get()
            try:
                outcome: tuple[bool, Any] = (True, context.run(function, *args))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                outcome = (False, exc)
            # Idle from here on, before the caller hears back: its next job must
            # find this thread waiting rather than start another one.
            with lock:
                self.idle += 1
            try:  # noqa: SIM105 - contextlib.suppress is three Python calls per hop
                loop.call_soon_threadsafe(_deliver, future, state, *outcome)
            except RuntimeError:  # the loop closed while the thread ran
                pass
            del function, args, context, loop, future, state, outcome


_workers = _Workers()
_hop_counter = itertools.count()  # next() is atomic in C: no lock per hop
_reads = itertools.count()


def _after_fork() -> None:
    global _workers  # noqa: PLW0603 - the parent's threads do not exist in a child
    _workers = _Workers()


os.register_at_fork(after_in_child=_after_fork)


def _deliver(future: asyncio.Future[Any], state: list[Any], ok: bool, value: Any) -> None:
    state[0] = True
    if state[1] is not None:  # a cancelled caller waits for the thread
        state[1].set_result(None)
    if future.done():  # the caller was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def run_sync(function: Callable[[*Ts], T], *args: *Ts) -> T:
    """``function(*args)`` in a worker thread, counted as one hop."""
    next(_hop_counter)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    state: list[Any] = [False, None]
    _workers.submit((function, args, contextvars.copy_context(), loop, future, state))
    try:
        return await future
    except asyncio.CancelledError:
        # As anyio did: the thread is not abandoned; the caller learns of the
        # cancellation once the work (and its transaction) has finished.
        if not state[0]:
            finished: asyncio.Future[None] = loop.create_future()
            state[1] = finished
            while not finished.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(finished)
        raise


def hops() -> int:
    """How many hops this process has made so far (compare two readings)."""
    # Each reading also advances the hop counter once: subtract the readings.
    return next(_hop_counter) - next(_reads)
