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

How many jobs run at once is a second bound, :func:`set_steady_threads`
(below :data:`MAX_THREADS`). On SQLite every statement step lets go of the
GIL, so sixteen threads each running a query's plan hand the GIL to one
another at every step: measured under 16 ``wrk`` clients, the plan's threads
spent 0.79 ms of CPU per query with sixteen of them and 0.42 ms with four,
for the same work (docs/performance.md, "The worker pool's steady size").
So beyond the steady number a job waits in the queue for a thread to come
free. Jobs that wait (on a lock, a slow statement, the server's answer) must
not shrink what is left for the rest: while jobs wait in line, a watcher
looks every :data:`TICK_S` at each busy thread's CPU clock, counts one that
stayed in the same job and used almost no CPU as waiting (a thread that
works, or waits its turn for the GIL, gets its share), and adds threads until
the ones not waiting are the steady number again, up to :data:`MAX_THREADS`
in all. Wall time alone would not do: under load a plan waits for the GIL
long enough to look held, and every such thread added makes the rest slower.
An extra thread leaves after a job when the threads working are enough (jobs
in line or not), or after :data:`IDLE_S` idle. A job whose caller is
cancelled before a thread took it never runs; :func:`run_to_end` is for the
job that must run anyway.

The workers are daemon threads: every job is awaited by a coroutine, so when
the event loop has finished its tasks no job runs; a forked child starts
without them and makes its own on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_log = logging.getLogger(__name__)

MAX_THREADS = 40  # anyio's default thread limiter
TICK_S = 0.05
"""How often the watcher looks at the busy threads while jobs wait or extra threads run."""
WAITING_CPU_SHARE = 0.05
"""A job that used less CPU than this share of a whole tick is waiting (a lock, the server)."""
IDLE_S = 1.0
"""An extra thread (above the steady size) idle this long leaves."""

# A job: (function, args, context, loop, future, state, claim); ``state`` is
# [finished, waiter]: set on the loop once the work is done, and the future a
# cancelled caller waits on until then. ``claim`` holds one item: whoever pops it
# (a worker starting the job, or its caller giving up on it first) decides
# whether the job runs; ``list.pop`` is atomic.
_Job = tuple[
    Callable[..., Any],
    tuple[Any, ...],
    contextvars.Context,
    asyncio.AbstractEventLoop,
    "asyncio.Future[Any]",
    list[Any],
    list[None],
]


def _cpu_clock() -> int | None:
    """The calling thread's CPU clock, where the platform has one."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):
        return None


class _Workers:
    """The worker threads and their queue of jobs (one per process).

    Under ``lock``: ``idle`` counts threads waiting for a job that no job has
    claimed yet, ``backlog`` jobs queued with no thread to take them,
    ``waiting`` the busy threads the watcher last saw waiting rather than
    working, and ``watching`` whether the watcher is on duty. ``started`` maps
    a busy thread to the start of its job and its CPU clock, in one entry that
    only that thread writes (a thread id is reused by the next thread).
    """

    def __init__(self, steady: int | None = None) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.steady = steady if steady is not None else MAX_THREADS
        self.threads = 0
        self.idle = 0
        self.backlog = 0
        self.waiting = 0
        self.started: dict[int, tuple[float, int | None]] = {}
        self.watching = False
        self.wake = threading.Event()
        self.watcher: threading.Thread | None = None

    def submit(self, job: _Job) -> None:
        spawn = watch = False
        with self.lock:
            if self.idle:  # a waiting worker takes it
                self.idle -= 1
            elif self.threads < self.steady:
                self.threads += 1
                spawn = True
            else:  # waits for a thread to come free (or for the watcher to add one)
                self.backlog += 1
                watch = not self.watching
                self.watching = True
        if spawn:  # before the job is queued: a thread that cannot start leaves no job behind
            try:
                self._start()
            except BaseException:
                with self.lock:
                    self.threads -= 1
                raise
        self.jobs.put(job)
        if watch:
            self._on_duty()

    def resize(self, steady: int) -> None:
        """A new steady size; jobs waiting in line get the threads it adds at once."""
        with self.lock:
            self.steady = steady
            more = max(
                0,
                min(
                    self.backlog, steady - (self.threads - self.waiting), MAX_THREADS - self.threads
                ),
            )
            self.threads += more
            self.backlog -= more
        self._add(more)

    def _start(self) -> None:
        threading.Thread(target=self._serve, name="ketenpoort-offload", daemon=True).start()

    def _add(self, count: int) -> None:
        """Start ``count`` threads already counted in ``threads``, each for a waiting job."""
        for started in range(count):
            try:
                self._start()
            except Exception:  # noqa: BLE001 - the jobs wait on; the watcher tries again
                with self.lock:
                    self.threads -= count - started
                    self.backlog += count - started
                return

    def _serve(self) -> None:
        jobs, lock, started = self.jobs, self.lock, self.started
        me = threading.get_ident()
        clock = _cpu_clock()
        while True:
            try:
                function, args, context, loop, future, state, claim = jobs.get(timeout=IDLE_S)
            except queue.Empty:
                with lock:  # idle for a while: an extra thread leaves (unless one is claimed)
                    leave = self.idle > 0 and self.threads - self.waiting > self.steady
                    if leave:
                        self.idle -= 1
                        self.threads -= 1
                if leave:
                    return
                continue
            try:
                claim.pop()
            except IndexError:  # its caller was cancelled before it started: not run
                outcome: tuple[bool, Any] | None = None
            else:
                started[me] = (time.monotonic(), clock)
                try:
                    outcome = (True, context.run(function, *args))
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                    outcome = (False, exc)
                del started[me]
            # Free from here on, before the caller hears back: its next job must
            # find this thread waiting rather than start another one.
            with lock:
                # Threads the watcher saw waiting do not count: while they wait, the
                # ones added beside them stay; once they work again, extra ones
                # leave, even with jobs in line (the steady number serves those).
                leave = self.threads - self.waiting > self.steady
                if leave:
                    self.threads -= 1
                elif self.backlog > 0:  # takes a waiting job
                    self.backlog -= 1
                else:
                    self.idle += 1
            if outcome is not None:
                try:  # noqa: SIM105 - contextlib.suppress is three Python calls per hop
                    loop.call_soon_threadsafe(_deliver, future, state, *outcome)
                except RuntimeError:  # the loop closed while the thread ran
                    pass
            del function, args, context, loop, future, state, claim, outcome
            if leave:
                return

    def _on_duty(self) -> None:
        """Wake the watcher (put on duty under the lock by the caller), starting it if need be."""
        # Only the caller that put the watcher on duty comes here: no race.
        if self.watcher is None or not self.watcher.is_alive():
            watcher = threading.Thread(
                target=self._watch, name="ketenpoort-offload-watch", daemon=True
            )
            try:
                watcher.start()
            except Exception:  # noqa: BLE001 - the job waits for a free thread; the next line retries
                with self.lock:
                    self.watching = False
                return
            self.watcher = watcher
        self.wake.set()

    def _waiting_threads(self, seen: dict[int, tuple[float, float]]) -> int:
        """Busy threads still in the job they ran a tick ago that used almost no CPU since.

        A thread blocked on a lock, a slow statement or the server's answer uses
        none; one that runs, or waits its turn for the GIL, gets its share (the
        bar is a fraction of a fair share of the tick among the busy threads, so
        a crowd of threads taking turns is not taken for waiting). Only where
        the platform has no per-thread CPU clock does a job older than two ticks
        count.
        """
        now = time.monotonic()
        busy = tuple(self.started.items())
        bar = min(TICK_S * WAITING_CPU_SHARE, TICK_S / (len(busy) + 1) / 4)
        waiting = 0
        current: dict[int, tuple[float, float]] = {}
        for ident, (since, clock) in busy:
            if clock is None:
                waiting += now - since > 2 * TICK_S
                continue
            try:
                cpu = time.clock_gettime(clock)
            except OSError:  # the thread has just left
                continue
            current[ident] = (since, cpu)
            before = seen.get(ident)
            if before is not None and before[0] == since and cpu - before[1] < bar:
                waiting += 1
        seen.clear()
        seen.update(current)
        return waiting

    def _watch(self) -> None:
        """While jobs wait, threads wait or extra threads run: waiting threads do not count.

        So the threads working (or free) stay at the steady size, up to
        :data:`MAX_THREADS` in all. An extra thread leaves after a job when the
        others working are enough, or after ``IDLE_S`` idle.
        """
        seen: dict[int, tuple[float, float]] = {}
        try:
            while True:
                self.wake.wait()
                while True:
                    time.sleep(TICK_S)
                    waiting = self._waiting_threads(seen)
                    with self.lock:
                        self.waiting = waiting
                        working = self.threads - waiting
                        if self.backlog <= 0 and not waiting and self.threads <= self.steady:
                            self.watching = False
                            self.wake.clear()
                            break
                        more = max(
                            0,
                            min(self.backlog, self.steady - working, MAX_THREADS - self.threads),
                        )
                        self.threads += more
                        self.backlog -= more
                    self._add(more)
        finally:  # never left on duty without watching: the next line starts a watcher again
            with self.lock:
                self.watching = False
                self.waiting = 0
                self.watcher = None
                self.wake.clear()


_workers = _Workers()
_hop_counter = itertools.count()  # next() is atomic in C: no lock per hop
_reads = itertools.count()


def _after_fork() -> None:
    global _workers  # noqa: PLW0603 - the parent's threads do not exist in a child
    _workers = _Workers(_workers.steady)


def set_steady_threads(count: int) -> None:
    """Run at most ``count`` jobs at once while they make progress (see the module's note)."""
    if not 1 <= count <= MAX_THREADS:
        raise ValueError(f"steady threads must be 1..{MAX_THREADS}, not {count}")
    _workers.resize(count)


def steady_threads() -> int:
    """The steady number of worker threads in force."""
    return _workers.steady


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
    claim: list[None] = [None]
    _workers.submit((function, args, contextvars.copy_context(), loop, future, state, claim))
    try:
        return await future
    except asyncio.CancelledError:
        # As anyio did: a job that has not started never will; one that has is
        # not abandoned, and the caller learns of the cancellation once the work
        # (and its transaction) has finished.
        try:
            claim.pop()
        except IndexError:
            pass
        else:
            raise
        if not state[0]:
            finished: asyncio.Future[None] = loop.create_future()
            state[1] = finished
            while not finished.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(finished)
        raise


async def run_to_end(function: Callable[[*Ts], T], *args: *Ts) -> T:
    """:func:`run_sync` for a job that must run even if its caller is cancelled meanwhile.

    A cancelled caller leaves at once; a failure of the job after that is
    logged (by its type only: a message can carry request data).
    """
    task = asyncio.ensure_future(run_sync(function, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        name = getattr(function, "__qualname__", type(function).__name__)
        task.add_done_callback(partial(_report_abandoned, name))
        raise


def _report_abandoned(name: str, task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    failure = task.exception()
    if failure is not None:
        _log.warning("%s failed after its caller was cancelled: %s", name, type(failure).__name__)


def hops() -> int:
    """How many hops this process has made so far (compare two readings)."""
    # Each reading also advances the hop counter once: subtract the readings.
    return next(_hop_counter) - next(_reads)
