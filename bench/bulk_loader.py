"""Grow a PostgreSQL audit log by millions of entries fast, for the scale benchmark only.

``write_batch`` (the gateway's append path) builds a dict per entry, encodes
it, seals subjects and writes through SQLAlchemy's connection: the last scale
run through it built ~400 entries/s under load 30, so 10M was never reached.
This loader grew 1M to 10M in 262 s at load 3–5 (34k entries/s; ``COPY`` into a
table with five indexes is the bound, the Python side is ~13 µs per entry).
It writes exactly the rows ``write_batch`` writes for the subject-less events
of :func:`bench.audit_bench.make_event` (with ``subject_pseudonym=None``), but:

- the body comes from a byte template: the RFC 8785 bytes of one entry built
  by ``build_entry`` and ``entry_bytes`` with a marker in each field that
  varies, split at the markers; each entry is then one ``bytes % tuple``.
  The varying values are ASCII without anything JSON escapes, so this is
  byte-identical (``tests/bench/test_bulk_loader.py`` holds it equal to
  ``write_batch``'s rows, leaf hashes and subtrees);
- leaf hashes and every completed subtree (``level >= 1``, as ``store.py``
  stores them) come from :class:`gateway.audit.core.merkle.TreeFrontier`;
- rows go to the server as one text ``COPY`` stream per table and batch, on a
  plain psycopg connection, with the head moved by the same
  ``UPDATE audit_head ... RETURNING size`` in the same transaction.

No data key, no index row: those belong to entries with a subject, which the
benchmark writes through ``AuditLog.append_sync``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import psycopg

from bench.audit_bench import make_event
from gateway.audit.core.canonical import LEAF_PREFIX
from gateway.audit.core.fast_canonical import entry_bytes
from gateway.audit.core.merkle import TreeFrontier, right_edge
from gateway.audit.store import HEAD_ID, PendingEntry, build_entry

BATCH = 100_000

# Fields of make_event(n) that vary with n, and how (mirrors bench.audit_bench.make_event).
_VARYING: tuple[tuple[str, Callable[[int, int], Any]], ...] = (
    ("seq", lambda seq, n: seq),
    ("kind", lambda seq, n: "decision" if n % 5 == 0 else "disclosure"),
    ("outcome", lambda seq, n: "denied" if n % 5 == 0 else "ok"),
    ("reason", lambda seq, n: "no_rule" if n % 5 == 0 else None),
    ("party", lambda seq, n: f"partij-{n % 30}"),
    ("employee", lambda seq, n: f"medewerker-{n % 500}"),
    ("case", lambda seq, n: f"c-{n % 2000:020d}"),
    ("source", lambda seq, n: f"bron-{n % 12}"),
    ("records", lambda seq, n: n % 4),
    ("trimmed_fields", lambda seq, n: n % 3),
    ("trace_id", lambda seq, n: f"{n:032x}"),
    ("span_id", lambda seq, n: f"{n:016x}"),
)


def _json(value: Any) -> bytes:
    """JSON of a varying value: ints, ``None`` and ASCII strings nothing needs escaping in."""
    if value is None:
        return b"null"
    if type(value) is int:
        return b"%d" % value
    text = str(value)
    if not text.isascii() or any(c in text for c in '"\\') or not text.isprintable():
        raise ValueError("the template only takes plain ASCII strings")
    return b'"' + text.encode("ascii") + b'"'


def reference_pending(n: int, moment: datetime) -> PendingEntry:
    """The pending entry ``write_batch`` would get for event ``n`` (no subject)."""
    event = replace(make_event(n), subject_pseudonym=None)
    return PendingEntry(event, moment, event.trace_id, event.span_id)


class BodyTemplate:
    """RFC 8785 bytes of event ``n`` at ``seq``, built once per ``time`` and filled by ``%``."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        entry = build_entry(0, reference_pending(0, moment), None)
        markers = {}
        for number, (name, _value) in enumerate(_VARYING):
            marker = f"@@{number}@@"
            entry[name] = marker
            markers[name] = b'"' + marker.encode("ascii") + b'"'
        encoded = entry_bytes(entry).replace(b"%", b"%%")
        order = sorted(_VARYING, key=lambda item: encoded.index(markers[item[0]]))
        for name, _value in order:
            if encoded.count(markers[name]) != 1:
                raise ValueError(f"marker for {name} is not unique")
            encoded = encoded.replace(markers[name], b"%s")
        self._format = encoded
        self._order = [value for _name, value in order]

    def body(self, seq: int, n: int) -> bytes:
        return self._format % tuple(_json(value(seq, n)) for value in self._order)


def conninfo(sqlalchemy_url: str) -> str:
    """A libpq URI from a ``postgresql+psycopg://`` URL (query options such as search_path kept)."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class BulkLoader:
    """Appends subject-less entries straight into the tables of one PostgreSQL database."""

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=False)
        with self.conn.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        self.conn.commit()
        self._frontier: TreeFrontier | None = None

    def close(self) -> None:
        self.conn.close()

    def _edge(self, start: int) -> TreeFrontier:
        """The edge at ``start``: kept from the last batch, or read once (someone appended)."""
        if self._frontier is not None and self._frontier.size == start:
            return self._frontier
        return TreeFrontier(start, right_edge(start, _PgNodes(self.conn)))

    def append(
        self, count: int, *, first_n: int | None = None, moment: datetime | None = None
    ) -> int:
        """``count`` entries in one transaction; the first seq.

        ``first_n``: event number of the first entry (default: its seq);
        ``moment``: the entries' time (default: now, one value per batch as in a group commit).
        """
        now = moment if moment is not None else datetime.now(UTC)
        template = BodyTemplate(now)
        stamp = now.isoformat(" ").encode("ascii")
        with self.conn.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_head SET size = size + %s, updated_at = %s WHERE id = %s "
                "RETURNING size",
                (count, now, HEAD_ID),
            )
            found = cursor.fetchone()
            if found is None:
                raise LookupError("audit_head has no row")
            start = int(found[0]) - count
            base = start if first_n is None else first_n
            edge = self._edge(start)
            leaves: list[bytes] = []
            lines: list[bytes] = []
            kinds = (b"decision\tdenied", b"disclosure\tok")
            for offset in range(count):
                seq, n = start + offset, base + offset
                body = template.body(seq, n)
                leaf = sha256(LEAF_PREFIX + body).digest()
                leaves.append(leaf)
                lines.append(
                    b"%d\t%s\t%s\tpartij-%d\tcasusoverleg\tc-%020d\tzvh-regio\t\\\\x%s\t%s\n"
                    % (
                        seq,
                        stamp,
                        kinds[n % 5 != 0],
                        n % 30,
                        n % 2000,
                        leaf.hex().encode("ascii"),
                        body,
                    )
                )
            nodes = edge.extend_nodes(leaves)
            with cursor.copy(
                "COPY audit_entries (seq, time, kind, outcome, party, purpose, case_id, "
                "convenant, leaf_hash, body) FROM STDIN"
            ) as copy:
                for chunk in range(0, len(lines), 10_000):
                    copy.write(b"".join(lines[chunk : chunk + 10_000]))
            with cursor.copy("COPY audit_nodes (level, idx, hash) FROM STDIN") as copy:
                copy.write(
                    b"".join(
                        b"%d\t%d\t\\\\x%s\n" % (level, idx, h.hex().encode("ascii"))
                        for (level, idx), h in nodes
                        if level > 0
                    )
                )
        self.conn.commit()
        self._frontier = edge
        return start


class _PgNodes:
    """``NodeStore`` over a psycopg connection (the loader's one read of the edge)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def get_nodes(self, keys: Any) -> dict[tuple[int, int], bytes]:
        found: dict[tuple[int, int], bytes] = {}
        with self.conn.cursor() as cursor:
            for level, idx in keys:
                if level == 0:
                    cursor.execute("SELECT leaf_hash FROM audit_entries WHERE seq = %s", (idx,))
                else:
                    cursor.execute(
                        "SELECT hash FROM audit_nodes WHERE level = %s AND idx = %s", (level, idx)
                    )
                row = cursor.fetchone()
                if row is not None:
                    found[(level, idx)] = bytes(row[0])
        return found
