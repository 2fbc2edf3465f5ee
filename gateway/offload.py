"""The one way the request path leaves the event loop for blocking (database) work.

Every hop to a worker thread costs a context switch and a few hundred
microseconds of scheduling under load; the brokered query is budgeted at a
fixed number of them (tests/brokering/test_query_budget.py). Routing every
hop through :func:`run_sync` lets that guard count them without timing
anything, so the budget cannot flake.

The hop is a plain thread pool and an asyncio future rather than
``anyio.to_thread.run_sync``: anyio's capacity limiter, run-var lookups and
cancel scopes cost about 130 Python calls per hop on the event loop (counted
by ``bench.query_cost``), a third of what the query itself does there. What
anyio gave is kept: the caller's context variables (the trace) go with the
call, at most :data:`MAX_THREADS` threads run at once (anyio's default), and a
cancelled caller still waits until the thread finished before it sees the
cancellation, so no transaction outlives the request that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

MAX_THREADS = 40  # anyio's default thread limiter


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


_hops = _Counter()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 - one pool per process, made on first use
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="ketenpoort-offload")
            pool = _pool
    return pool


def _deliver(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def run_sync(function: Callable[[*Ts], T], *args: *Ts) -> T:
    """``function(*args)`` in a worker thread, counted as one hop."""
    _hops.add()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, context.run(function, *args))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop closed while the thread ran
            loop.call_soon_threadsafe(_deliver, future, *outcome)

    job = _executor().submit(work)
    try:
        return await future
    except asyncio.CancelledError:
        # As anyio did: the thread is not abandoned; the caller learns of the
        # cancellation once the work (and its transaction) has finished.
        finished = asyncio.wrap_future(job)
        while not finished.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(finished)
        raise


def hops() -> int:
    """How many hops this process has made so far (compare two readings)."""
    return _hops.value
