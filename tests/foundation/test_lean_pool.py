"""The pool's lean queue (``gateway/storage/lean_pool.py``) behaves as SQLAlchemy's.

``QueuePool`` on :class:`LeanQueue` must hand out, wait, time out and overflow
exactly as on ``sqlalchemy.util.queue.Queue``; only the locking is cheaper.
Counted, not timed: an empty unit of ``Database.transaction`` is held to a
number of Python calls, so a change that brings the Condition-based queue (or
any other per-transaction layer) back fails here.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import queue as sqla_queue

from gateway.storage.connection_of import connection_of
from gateway.storage.db import Database
from gateway.storage.lean_pool import QUEUE_CLASS_MATCH, LeanQueue, LeanQueuePool

# Python calls of one empty ``Database.transaction`` unit (connect, begin, a
# connection_of, commit, close) after warm-up: 66 on SQLite, 77 on PostgreSQL
# (69 / 80 with the unit a ``@contextmanager`` generator)
# (its checkout, reset and checkin events, psycopg's commit behind
# ``DeadlineConnection.commit``, which ends a commit sent ahead with the last
# statement: gateway/storage/commit_ahead.py), with SQLAlchemy 2.1 (88 / 101 on
# its own queue and the Session's dispatch per unit).
MAX_UNIT_CALLS = {"sqlite": 66, "postgresql": 77}


def test_this_sqlalchemy_takes_the_lean_queue() -> None:
    assert QUEUE_CLASS_MATCH  # else the engines silently run on QueuePool as it is


@pytest.mark.parametrize("lifo", [True, False])
def test_order_and_bounds_as_sqlalchemys_queue(lifo: bool) -> None:
    for queue in (LeanQueue[int](2, use_lifo=lifo), sqla_queue.Queue[int](2, use_lifo=lifo)):
        queue.put(1, False)
        queue.put(2, False)
        assert queue.full() and queue.qsize() == 2
        with pytest.raises(sqla_queue.Full):
            queue.put(3, False)
        with pytest.raises(sqla_queue.Full):
            queue.put(3, True, 0.01)
        assert [queue.get(False), queue.get(False)] == ([2, 1] if lifo else [1, 2])
        assert queue.empty()
        with pytest.raises(sqla_queue.Empty):
            queue.get(False)
        with pytest.raises(sqla_queue.Empty):
            queue.get(True, 0.01)


def test_a_blocked_get_is_woken_by_a_put() -> None:
    queue = LeanQueue[str](1)
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(queue.get(True, 10)))
    waiter.start()
    while not queue._getters:  # it waits on the Condition now
        threading.Event().wait(0.001)
    queue.put("item", False)
    waiter.join(10)
    assert got == ["item"]


def test_a_blocked_put_is_woken_by_a_get() -> None:
    queue = LeanQueue[str](1)
    queue.put("first", False)
    putter = threading.Thread(target=lambda: queue.put("second", True, 10))
    putter.start()
    while not queue._putters:
        threading.Event().wait(0.001)
    assert queue.get(False) == "first"
    putter.join(10)
    assert queue.get(False) == "second"


def test_many_threads_share_a_small_pool_without_losing_a_connection() -> None:
    made: list[object] = []

    def creator() -> Any:
        made.append(object())
        return _FakeConnection()

    pool = LeanQueuePool(creator, pool_size=2, max_overflow=1, timeout=10)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                pool.connect().close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(made) <= 3  # pool_size + max_overflow, never more
    assert pool.checkedout() == 0
    assert pool.checkedin() == min(len(made), 2)  # overflow beyond pool_size closed on return


def test_checkout_times_out_as_queuepool_does() -> None:
    pool = LeanQueuePool(_fake, pool_size=1, max_overflow=0, timeout=0.05)
    held = pool.connect()
    with pytest.raises(PoolTimeout):
        pool.connect()
    held.close()
    pool.connect().close()
    assert isinstance(pool.recreate(), LeanQueuePool)


def test_the_engines_use_it(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert isinstance(database.engine.pool, LeanQueuePool)
        assert isinstance(database.engine.pool, QueuePool)
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


def _calls(function: Callable[[], None], times: int) -> float:
    counted = 0

    def profile(_frame: FrameType, what: str, _arg: Any) -> None:
        nonlocal counted
        if what == "call":
            counted += 1

    sys.setprofile(profile)
    try:
        for _ in range(times):
            function()
    finally:
        sys.setprofile(None)
    return counted / times


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def test_an_empty_unit_stays_within_its_call_budget(database: Database, backend: str) -> None:
    def unit() -> None:
        with database.transaction() as session:
            connection_of(session)

    for _ in range(3):
        unit()
    assert _calls(unit, 20) <= MAX_UNIT_CALLS[backend]  # unit() itself counts one


def test_engine_events_still_fire_on_the_lean_pool(database: Database) -> None:
    checkouts: list[int] = []
    event.listen(database.engine, "checkout", lambda *_a: checkouts.append(1))
    with database.transaction():
        pass
    assert checkouts == [1]


def _fake() -> Any:
    return _FakeConnection()


class _FakeConnection:
    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_checkout_waits_no_longer_than_the_database_timeout(database_url: str) -> None:
    """A full pool answers within the database timeout on both backends (SQLite waited 30 s).

    Requests then get their 503 within ``KETENPOORT_DB_TIMEOUT_S`` + 1 s, as promised.
    """
    database = Database(database_url, timeout_s=1.5)
    try:
        pool = database.engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.timeout() == 1.5
    finally:
        database.dispose()
