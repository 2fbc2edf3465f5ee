"""A pooled PostgreSQL connection's liveness check on checkout, counted on the wire.

A connection returned a moment ago, with nothing from the server waiting on its
socket, is handed out without a round trip (issue 16: the ping was two round
trips per brokered query). What the ping is for still holds: a connection whose
server side is gone (a restart, a terminated backend) is found on checkout and
replaced, with the rest of the pool, so the statement after it succeeds; one
idle for longer than ``fresh_s`` is pinged as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.storage.pg_deadlines import postgresql_engine
from tests.support.pg_wire import wire_round_trips

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = postgresql_engine(database_url, 5.0)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_back_a_moment_ago_is_handed_out_without_a_ping(engine: Engine) -> None:
    first = _backend_pid(engine)  # made (a fresh connection is not pinged) and returned
    with wire_round_trips(engine) as wire:
        assert _backend_pid(engine) == first  # the same connection, straight back
    assert wire.pings == 0, wire.sent
    assert wire.round_trips == 3, wire.sent  # BEGIN, the SELECT, the pool's ROLLBACK


def test_a_connection_idle_longer_than_fresh_s_is_pinged(database_url: str) -> None:
    engine = postgresql_engine(database_url, 5.0, fresh_s=0.0)
    try:
        first = _backend_pid(engine)
        with wire_round_trips(engine) as wire:
            assert _backend_pid(engine) == first
        assert wire.pings == 1, wire.sent
        assert wire.round_trips == 4, wire.sent
    finally:
        engine.dispose()


def _terminate(database_url: str, pids: set[int]) -> None:
    """End those backends and wait until they are gone (their sockets closed)."""
    admin = create_engine(database_url)
    try:
        with admin.connect() as connection:
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                alive = connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": list(pids)},
                ).scalar_one()
                connection.commit()
                if alive == 0:
                    return
                time.sleep(0.05)
        raise AssertionError("the terminated backends did not exit")
    finally:
        admin.dispose()


def test_connections_whose_backends_ended_are_replaced_on_checkout(
    engine: Engine, database_url: str
) -> None:
    """As after a restart: both pooled connections are dead. Their sockets show the
    server's goodbye, so the next checkout pings, fails, drops the pool and connects
    afresh: no statement is sent on a dead connection, and both succeed."""
    with engine.connect() as one, engine.connect() as two:
        pids = {
            int(one.execute(text("SELECT pg_backend_pid()")).scalar_one()),
            int(two.execute(text("SELECT pg_backend_pid()")).scalar_one()),
        }
    _terminate(database_url, pids)
    with engine.connect() as one, engine.connect() as two:
        after = {
            int(one.execute(text("SELECT pg_backend_pid()")).scalar_one()),
            int(two.execute(text("SELECT pg_backend_pid()")).scalar_one()),
        }
    assert len(after) == 2
    assert not after & pids


def test_a_connection_returned_in_a_transaction_is_rolled_back(engine: Engine) -> None:
    """The pool's reset (a ``reset`` listener, ``pool_reset_on_return=None``) still rolls back.

    Only a connection libpq reports idle skips the rollback; one handed back with
    its transaction open (here through the raw DBAPI connection) is rolled back
    before anyone else gets it, and a committed one is handed out idle.
    """
    from psycopg import pq

    raw = engine.raw_connection()
    raw.cursor().execute("CREATE TEMPORARY TABLE IF NOT EXISTS reset_probe (x int)")
    raw.commit()
    raw.cursor().execute("INSERT INTO reset_probe VALUES (1)")
    driver = raw.driver_connection
    assert driver is not None
    assert driver.pgconn.transaction_status == pq.TransactionStatus.INTRANS
    raw.close()  # back to the pool mid-transaction
    assert driver.pgconn.transaction_status == pq.TransactionStatus.IDLE
    again = engine.raw_connection()
    try:
        assert again.driver_connection is driver  # LIFO: the same connection
        cursor = again.cursor()
        cursor.execute("SELECT count(*) FROM reset_probe")
        assert cursor.fetchone() == (0,)  # the insert was rolled back
    finally:
        again.close()
