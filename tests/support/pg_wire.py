"""PostgreSQL round trips counted on the wire, from libpq's own protocol trace.

Each time the driver waits for the server is one round trip: every
``ReadyForQuery`` ends one (a statement, a ``BEGIN``, a ``COMMIT``, a ping), and a
``COPY`` waits once more for its ``CopyInResponse``. Counting them says what a
code path costs in round trips on any machine, without timing anything.

Tracing starts when a connection is checked out (before the engine's own
checkout listener, so a liveness ping is seen) and ends when it is checked in
(after the pool's reset, so a ``ROLLBACK`` is seen), on the threads not ignored.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from psycopg import pq
from sqlalchemy import Engine, event

_WAITS = ("ReadyForQuery", "CopyInResponse", "CopyOutResponse")


@dataclass
class Wire:
    round_trips: int = 0
    pings: int = 0
    """Round trips that were the engine's liveness ping (``;``)."""
    sent: list[str] = field(default_factory=list)
    """What the client asked, in order, without parameter values (for assertion messages)."""


def _count(trace: str, wire: Wire) -> None:
    for line in trace.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        direction, message = parts[0], parts[2]
        detail = parts[3].strip() if len(parts) > 3 else ""
        if direction == "B" and message in _WAITS:
            wire.round_trips += 1
        elif direction == "F" and message in ("Query", "Parse", "Bind"):
            if message == "Query" and detail == '";"':
                wire.pings += 1
            if message == "Bind":  # portal and statement name, never the parameters
                detail = "Bind " + " ".join(detail.split(" ", 2)[:2])
            wire.sent.append(detail[:80])


@contextmanager
def wire_round_trips(engine: Engine, *, ignore_threads: Sequence[str] = ()) -> Iterator[Wire]:
    """Count the round trips of every connection checked out meanwhile (PostgreSQL)."""
    wire = Wire()
    lock = threading.Lock()
    traces: dict[int, IO[str]] = {}

    def start(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if threading.current_thread().name in ignore_threads:
            return
        # Closed on checkin (or at the end): it outlives this listener.
        trace = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        with lock:
            traces[id(dbapi_connection)] = trace
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(
            pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
        )

    def stop(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is None:
            return
        with lock:
            trace = traces.pop(id(dbapi_connection), None)
        if trace is None:
            return
        dbapi_connection.pgconn.untrace()  # flushes libpq's stream
        trace.seek(0)
        text = trace.read()
        trace.close()
        with lock:
            _count(text, wire)

    event.listen(engine, "checkout", start, insert=True)
    event.listen(engine, "checkin", stop)
    try:
        yield wire
    finally:
        event.remove(engine, "checkout", start)
        event.remove(engine, "checkin", stop)
        for trace in traces.values():
            trace.close()
