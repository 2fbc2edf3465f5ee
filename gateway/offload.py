"""The one way the request path leaves the event loop for blocking (database) work.

Every hop to a worker thread costs a context switch and a few hundred
microseconds of scheduling under load; the brokered query is budgeted at a
fixed number of them (tests/brokering/test_query_budget.py). Routing every
hop through :func:`run_sync` lets that guard count them without timing
anything, so the budget cannot flake.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


_hops = _Counter()


async def run_sync(function: Callable[[*Ts], T], *args: *Ts) -> T:
    """``function(*args)`` in anyio's worker pool, counted as one hop."""
    _hops.add()
    return await anyio.to_thread.run_sync(function, *args)


def hops() -> int:
    """How many hops this process has made so far (compare two readings)."""
    return _hops.value
