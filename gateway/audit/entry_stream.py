"""The entries for full verification, a page at a time, as cheaply as each backend allows.

``audit verify`` reads every entry of the log once; at 10M entries the
per-row cost of SQLAlchemy's result rows and of the ``UtcDateTime`` column
type (a timezone conversion per row) was a third of the run. On PostgreSQL
this reads through the driver's own cursor, in binary, and lets the server
do the two conversions the checks need:

- the body as its UTF-8 bytes (``convert_to(body, 'UTF8')``), the exact bytes
  that are hashed into the leaf (the database encoding is UTF-8);
- the ``time`` column already in the body's RFC 3339 form
  (``YYYY-MM-DDTHH:MM:SS.ffffffZ``, UTC, six fraction digits: what
  :func:`gateway.audit.store.rfc3339_micro` writes and what
  :func:`gateway.audit.derived._rfc3339` compares), so comparing it with the
  body's ``time`` is one string comparison. A moment outside the years
  1–9999 (which Python cannot hold, so the gateway never wrote it) comes back
  as ``NULL`` and counts as a mismatch.

Elsewhere (SQLite) the rows come from :func:`gateway.audit.derived.entry_records`,
their bodies encoded to UTF-8. Both give rows in the
:data:`gateway.audit.derived.EntryRow` layout, in seq order, keyset-paged on
the primary key, inside the caller's snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import psycopg
from sqlalchemy.orm import Session

from gateway.audit.derived import EntryRow, entry_records

_PG_PAGE = (
    "SELECT seq, leaf_hash, convert_to(body, 'UTF8'), "
    "CASE WHEN time >= '0001-01-01 00:00:00+00' AND time < '10000-01-01 00:00:00+00' "
    """THEN to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END, """
    "kind, outcome, party, purpose, case_id, convenant "
    "FROM audit_entries WHERE seq > %s AND seq < %s ORDER BY seq LIMIT %s"
)
_NO_END = 2**63 - 1


def entry_pages(
    session: Session, page: int, *, start: int = 0, below: int | None = None
) -> Iterator[list[EntryRow]]:
    """Pages of ``(seq, leaf_hash, body bytes, time, kind, ...)``; ``time`` may be RFC 3339 text."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for stored in entry_records(session, page, start=start, below=below):
            yield [(row[0], bytes(row[1]), row[2].encode(), *row[3:]) for row in stored]
        return
    driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
    last = start - 1
    end = _NO_END if below is None else below
    with driver.cursor(binary=True) as cursor:
        while True:
            cursor.execute(_PG_PAGE, (last, end, page))
            rows: list[EntryRow] = cursor.fetchall()
            if not rows:
                return
            yield rows
            last = int(rows[-1][0])


def node_level(session: Session, level: int, lo: int, hi: int) -> tuple[list[int], list[bytes]]:
    """Stored subtrees of ``level`` with ``lo <= idx < hi``: their indexes and hashes, by idx."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        with driver.cursor(binary=True) as cursor:
            cursor.execute(
                "SELECT idx, hash FROM audit_nodes WHERE level = %s AND idx >= %s AND idx < %s "
                "ORDER BY idx",
                (level, lo, hi),
            )
            rows = cursor.fetchall()
    else:
        rows = list(
            connection.exec_driver_sql(
                "SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ? "
                "ORDER BY idx",
                (level, lo, hi),
            )
        )
    return [int(idx) for idx, _h in rows], [bytes(h) for _idx, h in rows]
