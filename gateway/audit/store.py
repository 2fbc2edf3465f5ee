"""The SQL side of the tree: sequencing appends and storing completed subtrees.

Sequencing is one statement, ``UPDATE audit_head SET size = size + n ...
RETURNING size``: on PostgreSQL it takes the row lock that every other
instance's append waits on until commit; on SQLite it takes the write lock
before anything is read, so no transaction can build on a stale size. The
batch's entries, nodes, data keys and index rows then commit with the head,
so a crash leaves either all of a batch or none of it.

The new subtrees are computed from the writer's :class:`WriterFrontier`, the
right edge of the tree as of its own last commit: when the head it just locked
is where that commit left it, no subtree is read back. When another writer
(another process, or an ``append_in`` transaction) moved the head meanwhile,
the edge is rebuilt from the stored subtrees in one read; the head lock makes
that read consistent, since no one else can append until this commit.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from gateway.audit.core.canonical import leaf_hash_of_bytes
from gateway.audit.core.fast_canonical import entry_bytes
from gateway.audit.core.merkle import NodeKey, TreeFrontier
from gateway.audit.events import AuditEvent
from gateway.audit.models import AuditEntry, AuditHead, AuditNode, AuditSubjectIndex
from gateway.audit.subject_keys import KeySpec, SubjectVault
from gateway.audit.vault import DataKey, seal
from gateway.storage.commit_ahead import commit_with_last
from gateway.storage.connection_of import connection_of
from gateway.storage.pg_arrays import (
    ByteaArray,
    Int2Array,
    Int8Array,
    TextArray,
    TimestamptzArray,
)
from gateway.storage.pg_deadlines import DeadlineConnection, lock_timeout_millis
from gateway.storage.precompiled import Precompiled, execute_many

HEAD_ID = 1


class SqlNodeStore:
    """``NodeStore`` over ``audit_entries.leaf_hash`` (level 0) and ``audit_nodes``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        leaves = [index for level, index in keys if level == 0]
        inner = [key for key in keys if key[0] > 0]
        found: dict[NodeKey, bytes] = {}
        if leaves:
            rows = self.session.execute(
                select(AuditEntry.seq, AuditEntry.leaf_hash).where(AuditEntry.seq.in_(leaves))
            )
            found.update(((0, seq), bytes(h)) for seq, h in rows)
        if inner:
            by_level: dict[int, list[int]] = {}
            for level, idx in inner:
                by_level.setdefault(level, []).append(idx)
            # One (level = ? AND idx IN ...) term per level: every backend uses the
            # primary key for that, which a row-value IN does not get on SQLite.
            inner_rows = self.session.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                    or_(
                        *(
                            and_(AuditNode.level == level, AuditNode.idx.in_(indexes))
                            for level, indexes in by_level.items()
                        )
                    )
                )
            )
            found.update(((level, idx), bytes(h)) for level, idx, h in inner_rows)
        return found


class WriterFrontier:
    """One writer's in-memory right edge of the tree, as of its last successful commit.

    ``for_start`` hands out a private copy to extend inside a transaction;
    only :meth:`committed` (called after the commit returned) makes the result
    the new base, so a rolled-back batch never leaves a frontier ahead of the
    database. Leaves below a committed size never change, so a frontier whose
    size equals the locked head is exactly the stored tree's edge.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base: TreeFrontier | None = None
        self.rebuilds = 0
        """How often the edge was read from the store (start, or another writer moved the head)."""

    def for_start(self, start: int, session: Session) -> TreeFrontier:
        with self._lock:
            base = self._base
        if base is not None and base.size == start:
            return base.copy()
        self.rebuilds += 1
        return TreeFrontier.from_store(start, SqlNodeStore(session))

    def committed(self, frontier: TreeFrontier) -> None:
        with self._lock:
            if self._base is None or frontier.size >= self._base.size:
                self._base = frontier

    def current(self) -> TreeFrontier | None:
        """A copy of the committed edge (``None`` before the first commit)."""
        with self._lock:
            return self._base.copy() if self._base is not None else None

    def forget(self) -> None:
        """Drop the cached edge (after an ambiguous commit failure); the next batch rebuilds."""
        with self._lock:
            self._base = None


def head_size(session: Session) -> int:
    size = session.scalar(select(AuditHead.size).where(AuditHead.id == HEAD_ID))
    if size is None:
        raise LookupError("audit_head has no row; is the schema migrated?")
    return int(size)


@dataclass(frozen=True)
class PendingEntry:
    """An event with what is fixed at the moment ``append`` was called."""

    event: AuditEvent
    time: datetime
    trace_id: str | None
    span_id: str | None
    # What an inbound traceparent claimed; the gateway's own trace is ``trace_id``.
    caller_trace_id: str | None = None


def rfc3339_micro(moment: datetime) -> str:
    """``2026-01-02T03:04:05.000006Z`` (C ``isoformat``, not ``strftime``: it runs per append)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


def key_spec(event: AuditEvent) -> KeySpec | None:
    if event.subject_pseudonym is None:
        return None
    case = "" if event.subject_scope == "subject" else (event.case or "")
    return (event.subject_pseudonym, event.subject_scope, case)


def entry_aad(seq: int, name: str) -> bytes:
    """Binds a sealed value to its entry and field, so it cannot be moved elsewhere."""
    return b"ketenpoort/audit:%d:%s" % (seq, name.encode("ascii"))


def build_entry(
    seq: int, pending: PendingEntry, key: DataKey | None, time_text: str | None = None
) -> dict[str, Any]:
    """The stored entry: exactly what is canonicalised and hashed into leaf ``seq``.

    ``time_text`` is ``rfc3339_micro(pending.time)`` when the caller has it already.
    """
    event = pending.event
    subject: dict[str, str] | None = None
    employee, employee_sealed = event.employee, None
    if key is not None and event.subject_pseudonym is not None:
        token = seal(key.secret, event.subject_pseudonym.encode("utf-8"), entry_aad(seq, "subject"))
        subject = {"key": key.key_id, "scope": event.subject_scope, "sealed": token}
        if event.encrypt_employee and employee is not None:
            employee_sealed = seal(key.secret, employee.encode("utf-8"), entry_aad(seq, "employee"))
            employee = None
    entry: dict[str, Any] = {
        "seq": seq,
        "time": rfc3339_micro(pending.time) if time_text is None else time_text,
        "kind": event.kind,
        "outcome": event.outcome,
        "party": event.party,
        "employee": employee,
        "employee_sealed": employee_sealed,
        "convenant": event.convenant,
        "purpose": event.purpose,
        "case": event.case,
        "source": event.source,
        "category": event.category,
        "reason": event.reason,
        "consent_id": event.consent_id,
        "records": event.records,
        "trimmed_fields": event.trimmed_fields,
        "trace_id": pending.trace_id,
        "span_id": pending.span_id,
        "covenant_version": event.covenant_version,
        "processing_activity": event.activity(),
        "subject": subject,
        "details": dict(event.details),
    }
    if pending.caller_trace_id is not None:
        entry["caller_trace_id"] = pending.caller_trace_id
    return entry


_HEAD = cast(Table, AuditHead.__table__)
# Built once: a Core statement (no ORM bulk-update machinery) whose compiled form
# SQLAlchemy caches; only the parameters change per append.
_MOVE_HEAD = Precompiled(
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(size=_HEAD.c.size + bindparam("count"), updated_at=bindparam("now"))
    .returning(_HEAD.c.size)
)


def _reserve(session: Session, count: int, now: datetime, lock_timeout_s: float) -> int:
    """Take the head lock and move the head by ``count``; returns the first new seq."""
    connection = connection_of(session)
    if connection.dialect.name == "postgresql":
        millis = lock_timeout_millis(lock_timeout_s)
        driver = connection.connection.dbapi_connection
        # Our engine opens every connection with lock_timeout = its db timeout, the
        # same setting the writer gets: a SET LOCAL to that value was a round trip
        # per batch that changed nothing.
        if not isinstance(driver, DeadlineConnection) or driver.lock_timeout_ms != millis:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{millis}ms'")
    new_size = _MOVE_HEAD.scalar(connection, {"count": count, "now": now})
    if new_size is None:
        raise LookupError("audit_head has no row; is the schema migrated?")
    return int(new_size) - count


def write_batch(
    session: Session,
    batch: Sequence[PendingEntry],
    vault: SubjectVault,
    *,
    lock_timeout_s: float = 5.0,
    frontier: WriterFrontier | None = None,
    last: bool = False,
) -> tuple[list[int], TreeFrontier]:
    """Append ``batch`` in the caller's transaction; the seqs in order and the new right edge.

    With ``frontier`` the edge comes from memory when the head is where this
    writer left it; the caller passes the returned edge to
    :meth:`WriterFrontier.committed` once its commit succeeded.

    ``last``: the caller commits right after this; on PostgreSQL the ``COMMIT``
    goes with the insert, and this returns once it was answered
    (gateway/storage/commit_ahead.py).
    """
    now = datetime.now(UTC)
    start = _reserve(session, len(batch), now, lock_timeout_s)
    edge = (
        frontier.for_start(start, session)
        if frontier is not None
        else TreeFrontier.from_store(start, SqlNodeStore(session))
    )
    specs = [key_spec(p.event) for p in batch]
    keys = vault.keys_for(session, [s for s in specs if s is not None], now)
    connection = connection_of(session)
    postgres = connection.dialect.name == "postgresql"
    # The time column's own conversion (SQLite's text form) and the entry's RFC 3339
    # text, once per moment: a request's entries (a batch of 1,000) share theirs.
    time_processor, leaf_processor = (
        (_NO_CONVERSION, _NO_CONVERSION) if postgres else _entry_processors(connection.dialect)
    )
    moment: datetime | None = None
    moment_text, moment_value, naive = "", None, False
    entry_rows: list[tuple[Any, ...]] = []
    index_rows: list[tuple[Any, ...]] = []
    leaves: list[bytes] = []
    for offset, (pending, spec) in enumerate(zip(batch, specs, strict=True)):
        seq = start + offset
        key = keys[spec] if spec is not None else None
        if pending.time is not moment:
            moment = pending.time
            moment_text = rfc3339_micro(moment)
            moment_value = time_processor(moment)
            naive = naive or moment.tzinfo is None
        body = entry_bytes(build_entry(seq, pending, key, moment_text))
        leaf = leaf_hash_of_bytes(body)
        leaves.append(leaf)
        event = pending.event
        entry_rows.append(
            (
                seq,
                moment_value,
                event.kind,
                event.outcome,
                event.party,
                event.purpose,
                event.case,
                event.convenant,
                leaf_processor(leaf),
                body.decode("utf-8"),
            )
        )
        if spec is not None and key is not None:
            index_rows.append((spec[0], seq, key.key_id))
    nodes = edge.extend_nodes(leaves)
    node_rows = [(level, idx, h) for (level, idx), h in nodes if level > 0]
    if postgres:
        with commit_with_last(session) if last else nullcontext():
            _insert_all_pg(connection, entry_rows, node_rows, index_rows, naive_times=naive)
    else:
        _insert_rows(connection, AuditEntry, _ENTRY_COLUMNS, entry_rows, converted=True)
        _insert_rows(connection, AuditNode, _NODE_COLUMNS, node_rows)
        _insert_rows(connection, AuditSubjectIndex, _INDEX_COLUMNS, index_rows)
    return list(range(start, start + len(batch))), edge


_ENTRY_COLUMNS = (
    "seq",
    "time",
    "kind",
    "outcome",
    "party",
    "purpose",
    "case_id",
    "convenant",
    "leaf_hash",
    "body",
)
_NODE_COLUMNS = ("level", "idx", "hash")
_INDEX_COLUMNS = ("pseudonym", "seq", "key_id")


@functools.lru_cache(maxsize=64)
def _bind_processors(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """The column types' own conversions (e.g. DateTime to SQLite's text form), where a
    type has one; looked up once per table, column list and dialect, not per append."""
    return tuple(
        (i, proc)
        for i, name in enumerate(columns)
        if (proc := table.c[name].type._cached_bind_processor(dialect)) is not None
    )


_NO_CONVERSION: Callable[[Any], Any] = lambda value: value  # noqa: E731


@functools.lru_cache(maxsize=8)
def _entry_processors(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The conversions of the entry columns ``time`` and ``leaf_hash`` on ``dialect``
    (identity where a type has none); no other entry column has one (checked)."""
    table = cast(Table, AuditEntry.__table__)
    found = dict(_bind_processors(table, _ENTRY_COLUMNS, dialect))
    time, leaf = _ENTRY_COLUMNS.index("time"), _ENTRY_COLUMNS.index("leaf_hash")
    if found.keys() - {time, leaf}:
        raise TypeError("audit_entries: a column other than time and leaf_hash converts values")
    return found.get(time, _NO_CONVERSION), found.get(leaf, _NO_CONVERSION)


def _insert_rows(
    connection: Connection,
    model: type[Any],
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    converted: bool = False,
) -> None:
    """Bulk insert without the ORM (SQLite): one driver ``executemany`` (``execute_many``).

    Rows are plain tuples in ``columns`` order: no per-row compilation or
    parameter dictionaries (that was a third of an append's CPU). With
    ``converted`` the rows already hold the column types' conversions.
    """
    if not rows:
        return
    table = model.__table__
    names = ", ".join(columns)
    dialect = connection.dialect
    # The column types' own conversions (e.g. DateTime to SQLite's text form),
    # applied only where a type has one.
    processors = () if converted else _bind_processors(table, tuple(columns), dialect)
    if processors:
        processed = []
        for row in rows:
            values = list(row)
            for i, proc in processors:
                values[i] = proc(values[i])
            processed.append(tuple(values))
        rows = processed
    marks = ", ".join("?" * len(columns))
    # Table and column names come from the models above, never from input.
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
    execute_many(connection, sql, rows)


def _unnest(table: str, columns: Sequence[str], types: Sequence[str]) -> str:
    """``INSERT`` of rows given as one array parameter per column."""
    arrays = ", ".join(f"%b::{kind}[]" for kind in types)
    # Table and column names come from the models above, never from input.
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"  # noqa: S608


# The three inserts of a batch as one statement: data-modifying CTEs all run, in
# one round trip, with each table's rows as one array per column (empty arrays
# insert nothing). Three COPYs took two round trips each (COPY, then its end).
_PG_INSERT_ALL = (
    "WITH entries AS ("
    + _unnest(
        AuditEntry.__tablename__,
        _ENTRY_COLUMNS,
        ("bigint", "timestamptz", "text", "text", "text", "text", "text", "text", "bytea", "text"),
    )
    + "), nodes AS ("
    + _unnest(AuditNode.__tablename__, _NODE_COLUMNS, ("smallint", "bigint", "bytea"))
    + ") "
    + _unnest(AuditSubjectIndex.__tablename__, _INDEX_COLUMNS, ("text", "bigint", "text"))
)


# Each column's array type, in the statement's parameter order: psycopg dumps these
# typed lists with the array's fixed oid instead of scanning every list for its
# element type (gateway/storage/pg_arrays.py; issue 16).
_ENTRY_ARRAYS: tuple[type[list[Any]], ...] = (
    Int8Array,
    TimestamptzArray,
    TextArray,
    TextArray,
    TextArray,
    TextArray,
    TextArray,
    TextArray,
    ByteaArray,
    TextArray,
)
_NODE_ARRAYS: tuple[type[list[Any]], ...] = (Int2Array, Int8Array, ByteaArray)
_INDEX_ARRAYS: tuple[type[list[Any]], ...] = (TextArray, Int8Array, TextArray)


def _columns(rows: list[tuple[Any, ...]], arrays: Sequence[type[list[Any]]]) -> list[list[Any]]:
    """Rows as one typed list per column (empty lists for no rows)."""
    if not rows:
        return [array() for array in arrays]
    return [array(column) for array, column in zip(arrays, zip(*rows, strict=True), strict=True)]


def _insert_all_pg(
    connection: Connection,
    entry_rows: list[tuple[Any, ...]],
    node_rows: list[tuple[Any, ...]],
    index_rows: list[tuple[Any, ...]],
    *,
    naive_times: bool = False,
) -> None:
    """A batch's entries, nodes and index rows in one statement (PostgreSQL).

    ``naive_times``: some entry time has no zone (``write_batch`` notes it once per
    distinct moment, not per row); the entries the log stamps itself are all UTC.
    """
    entries = _columns(entry_rows, _ENTRY_ARRAYS)
    if naive_times:
        # A naive time goes as psycopg sends it (``timestamp``, read in the session's
        # zone by the cast): the typed dumper refuses one.
        entries[1] = list(entries[1])
    parameters = (
        *entries,
        *_columns(node_rows, _NODE_ARRAYS),
        *_columns(index_rows, _INDEX_ARRAYS),
    )
    connection.exec_driver_sql(_PG_INSERT_ALL, parameters)
