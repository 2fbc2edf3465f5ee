"""SQLAlchemy's ``QueuePool`` on a queue that locks without Python-level calls.

Every transaction checks a connection out of the pool and back in. The pool's
queue (``sqlalchemy.util.queue.Queue``) guards its deque with two
``threading.Condition`` objects over an ``RLock``: entering and leaving a
Condition, its ``notify`` and the queue's own helpers are Python functions,
about twelve calls per checkout and checkin, 24 per brokered query (issue 16).
:class:`LeanQueue` keeps the queue's contract (LIFO or FIFO, ``maxsize``,
blocking with a timeout, :class:`~sqlalchemy.util.queue.Empty` /
:class:`~sqlalchemy.util.queue.Full`) on a plain ``threading.Lock``, which a
``with`` statement takes in C; the Condition that blocked callers wait on is
used only when one actually waits. Everything else is ``QueuePool`` as it is:
overflow, the checkout timeout, events (the PostgreSQL liveness check),
invalidation, ``recreate`` and ``dispose``.

``QueuePool`` picks its queue through the class attribute ``_queue_class`` (as
SQLAlchemy's own ``AsyncAdaptedQueuePool`` does). That name is private, so it is
checked once at import (:data:`QUEUE_CLASS_MATCH`); without a match the engines
get SQLAlchemy's ``QueuePool`` unchanged (:func:`pool_class`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import Pool, QueuePool
from sqlalchemy.util import queue as sqla_queue

T = TypeVar("T")


class LeanQueue(Generic[T]):
    """``sqlalchemy.util.queue.Queue`` with the same behaviour and fewer Python calls.

    An uncontended ``get`` or ``put`` is one Python call: the lock is a
    ``threading.Lock`` (entered in C) and the Conditions are notified only when
    a caller waits on them.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self.queue: deque[T] = deque()
        self._lock = threading.Lock()
        self._items = threading.Condition(self._lock)  # waited on by a blocked get
        self._room = threading.Condition(self._lock)  # waited on by a blocked put
        self._getters = 0
        self._putters = 0

    def qsize(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self.queue)

    def put_nowait(self, item: T) -> None:
        self.put(item, False)

    def get_nowait(self) -> T:
        return self.get(False)

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """As ``Queue.put``: without ``block``, :class:`~sqlalchemy.util.queue.Full` at once."""
        with self._lock:
            if 0 < self.maxsize <= len(self.queue):
                if not block:
                    raise sqla_queue.Full
                self._wait(self._room, timeout, sqla_queue.Full, getter=False)
            self.queue.append(item)
            if self._getters:
                self._items.notify()

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """As ``Queue.get``: without ``block``, :class:`~sqlalchemy.util.queue.Empty` at once."""
        with self._lock:
            queue = self.queue
            if not queue:
                if not block:
                    raise sqla_queue.Empty
                self._wait(self._items, timeout, sqla_queue.Empty, getter=True)
            item = queue.pop() if self.use_lifo else queue.popleft()
            if self._putters:
                self._room.notify()
            return item

    def _blocked(self, *, getter: bool) -> bool:
        if getter:
            return not self.queue
        return 0 < self.maxsize <= len(self.queue)

    def _wait(
        self,
        condition: threading.Condition,
        timeout: float | None,
        error: type[Exception],
        *,
        getter: bool,
    ) -> None:
        """Wait (lock held) until an item (``getter``) or a free slot is there."""
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a positive number")
        deadline = None if timeout is None else time.monotonic() + timeout
        if getter:
            self._getters += 1
        else:
            self._putters += 1
        try:
            while self._blocked(getter=getter):
                if deadline is None:
                    condition.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise error
                condition.wait(remaining)
        finally:
            if getter:
                self._getters -= 1
            else:
                self._putters -= 1


class LeanQueuePool(QueuePool):
    """``QueuePool`` on a :class:`LeanQueue`; otherwise SQLAlchemy's own."""

    _queue_class = LeanQueue  # type: ignore[assignment]


def _never_called() -> DBAPIConnection:
    raise AssertionError("the probe pool connects nowhere")


def _queue_class_matches() -> bool:
    """Whether ``QueuePool`` still builds its queue from ``_queue_class`` (no connection made)."""
    try:
        probe = LeanQueuePool(_never_called, pool_size=1, max_overflow=0)
        return isinstance(probe._pool, LeanQueue)
    except Exception:  # noqa: BLE001 - any mismatch means: use QueuePool as it is
        return False


QUEUE_CLASS_MATCH = _queue_class_matches()


def pool_class() -> type[Pool]:
    """The pool for the gateway's engines: :class:`LeanQueuePool` where it fits this SQLAlchemy."""
    return LeanQueuePool if QUEUE_CLASS_MATCH else QueuePool
