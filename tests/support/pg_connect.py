"""A bare PostgreSQL connection as the engine makes one (deadline, ``LeanCursor``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy.engine import make_url

from gateway.storage.pg_deadlines import DeadlineConnection
from gateway.storage.pg_execute import LeanCursor


def lean_connection(database_url: str, **kwargs: Any) -> DeadlineConnection:
    """A :class:`DeadlineConnection` to the test database: :class:`LeanCursor`, a 10 s bound."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = DeadlineConnection.connect(conninfo, **kwargs)
    connection.cursor_factory = LeanCursor
    connection.wait_timeout_s = 10.0
    return connection


@contextmanager
def libpq_trace(connection: psycopg.Connection[Any]) -> Iterator[list[str]]:
    """libpq's protocol trace of the block (no timestamps), filled in as it ends."""
    lines: list[str] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as trace:
        connection.pgconn.trace(trace.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield lines
        finally:
            connection.pgconn.untrace()
            trace.seek(0)
            lines.extend(trace.read().splitlines())
