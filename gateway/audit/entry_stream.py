"""The entries for full verification, a page at a time, as cheaply as each backend allows.

``audit verify`` reads every entry of the log once; at 10M entries the
per-row cost of SQLAlchemy's result rows and of the ``UtcDateTime`` column
type (a timezone conversion per row) was a third of the run. On PostgreSQL
this reads through the driver's own cursor, in binary, and converts nothing
per row, on either side:

- the body as the bytes the server sends (the ``text`` loader of this cursor
  hands bytes, not ``str``): with the session's client encoding UTF-8 these
  are the exact bytes hashed into the leaf; under any other client encoding
  the server converts them (``convert_to(body, 'UTF8')``) as before;
- the ``time`` column as its 8 binary bytes (microseconds since 2000-01-01
  UTC), read into the body's RFC 3339 form by
  :func:`gateway.audit.derived.moment_text` once per distinct value of a page
  (a group commit shares one moment). A moment Python cannot hold (year
  10000, ``infinity``; the gateway never wrote one) names no moment and is a
  mismatch. Before, the server formatted every row with ``to_char`` and
  converted every body: about half of its CPU per row.

On SQLite the same through the ``sqlite3`` cursor: the body as the text the
driver decodes (it raises on bytes that are not UTF-8, as before), and
``time`` as stored with its one space made a ``T`` and a ``Z`` added, which is
the body's form exactly when the stored text is ``YYYY-MM-DD HH:MM:SS.ffffff``,
the one text SQLAlchemy writes for a moment. Each distinct value of a page is
held to that form and to a real calendar moment in Python (a group commit
shares one time, so this is done once per batch, not per row); any other
text is a mismatch, even one the driver would parse to the same moment
(``2026-12-01T04:05:06.000000``, no fraction): SQLite compares the column as
text, so such a rewrite moves the entry out of the officer's time-window
search (``time < :to``) while the body still says the same moment. Other
databases read through
:func:`gateway.audit.derived.entry_records`. All give rows in the
:data:`gateway.audit.derived.EntryRow` layout, in seq order, keyset-paged on
the primary key, inside the caller's snapshot.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

import psycopg
from psycopg.types.string import ByteaBinaryLoader
from sqlalchemy.orm import Session

from gateway.audit.derived import EntryRow, entry_records

_PG_PAGE = (
    "SELECT seq, leaf_hash, body, time, kind, outcome, party, purpose, case_id, convenant "
    "FROM audit_entries WHERE seq > %s AND seq < %s ORDER BY seq LIMIT %s"
)
_PG_PAGE_CONVERTED = _PG_PAGE.replace(" body,", " convert_to(body, 'UTF8'),", 1)
"""For a session whose client encoding is not UTF-8: the server converts the body."""
_SQLITE_PAGE = (
    "SELECT seq, leaf_hash, body, "
    # YYYY-MM-DD HH:MM:SS.ffffff, the one text SQLAlchemy writes for a moment on SQLite
    "CASE WHEN typeof(time) = 'text' AND time GLOB "
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
    ".[0-9][0-9][0-9][0-9][0-9][0-9]' "
    "THEN replace(time, ' ', 'T') || 'Z' END, "
    "kind, outcome, party, purpose, case_id, convenant "
    "FROM audit_entries WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?"
)
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_NO_END = 2**63 - 1
_TIME = itemgetter(3)


def entry_pages(
    session: Session, page: int, *, start: int = 0, below: int | None = None
) -> Iterator[list[EntryRow]]:
    """Pages of ``(seq, leaf_hash, body, time, kind, ...)``; ``time`` may be RFC 3339 text.

    ``body`` is bytes on PostgreSQL and text on SQLite; ``time`` 8 bytes on PostgreSQL
    (:func:`gateway.audit.derived.moment_text` reads it).
    """
    connection = session.connection()
    last = start - 1
    end = _NO_END if below is None else below
    if connection.dialect.name == "sqlite":
        lite = cast("sqlite3.Connection", connection.connection.dbapi_connection)
        plain: set[str] = set()
        while True:
            rows: list[EntryRow] = lite.execute(_SQLITE_PAGE, (last, end, page)).fetchall()
            if not rows:
                return
            times = set(map(_TIME, rows))
            odd = {t for t in times - plain if not _plain_moment(t)}
            plain |= times - odd
            if odd:  # not the form the gateway writes: a mismatch, whatever it parses to
                rows = [row if row[3] not in odd else (*row[:3], None, *row[4:]) for row in rows]
            yield rows
            last = int(rows[-1][0])
    if connection.dialect.name != "postgresql":
        for stored in entry_records(session, page, start=start, below=below):
            yield [(row[0], bytes(row[1]), row[2].encode(), *row[3:]) for row in stored]
        return
    driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
    query = _PG_PAGE if driver.info.encoding == "utf-8" else _PG_PAGE_CONVERTED
    with driver.cursor(binary=True) as cursor:
        # The body's bytes as the server sends them (UTF-8: the bytes hashed into the
        # leaf), ``time`` as its 8 binary bytes: no text decode or datetime per row.
        cursor.adapters.register_loader("text", ByteaBinaryLoader)
        cursor.adapters.register_loader("timestamptz", ByteaBinaryLoader)
        while True:
            cursor.execute(query, (last, end, page))
            found: list[EntryRow] = cursor.fetchall()
            if not found:
                return
            yield found
            last = int(found[-1][0])


def _plain_moment(value: object) -> bool:
    """``value`` is ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` naming a moment Python can hold."""
    if type(value) is not str or not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return False
    return True


_PG_LEVEL = (
    "SELECT count(*), count(DISTINCT idx), count(*) FILTER (WHERE length(hash) = 32), "
    "min(idx), max(idx), string_agg(hash, ''::bytea ORDER BY idx) "
    "FROM audit_nodes WHERE level = %s AND idx >= %s AND idx < %s"
)


def level_matches(session: Session, level: int, first: int, hashes: list[bytes]) -> bool:
    """``audit_nodes`` holds exactly ``hashes`` at ``level``, idx ``first`` on, and no other
    row in that idx range.

    PostgreSQL sends one aggregate per level (the stored rows are scattered over the
    table, so it still visits each, but hands over one byte string): distinct idxs
    from ``first`` to the last, 32-byte hashes, whose concatenation is ``hashes``'.
    """
    connection = session.connection()
    end = first + len(hashes)
    if connection.dialect.name == "postgresql":
        driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        with driver.cursor(binary=True) as cursor:
            cursor.execute(_PG_LEVEL, (level, first, end))
            found = cursor.fetchone()
        if found is None:
            return False
        rows, distinct, sized, low, high, joined = found
        if not hashes:
            return bool(rows == 0)
        return (
            rows == distinct == sized == len(hashes)
            and (low, high) == (first, end - 1)
            and bytes(joined) == b"".join(hashes)
        )
    query = (
        "SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"
    )
    if connection.dialect.name == "sqlite":
        lite = cast("sqlite3.Connection", connection.connection.dbapi_connection)
        stored = lite.execute(query, (level, first, end)).fetchall()
    else:
        stored = list(connection.exec_driver_sql(query, (level, first, end)))
    return [h for _idx, h in stored] == hashes and [idx for idx, _h in stored] == list(
        range(first, end)
    )
