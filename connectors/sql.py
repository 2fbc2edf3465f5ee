"""The `sql` connector: a partner's bronregistratie read straight from its database.

The partner writes one query per category; we only ever bind parameters into
it (`:bsn` or `:subject`), never build SQL from values. Two guards keep it
read-only: a query must be a single SELECT (checked by `ketenpoort policy
check` and at policy load through `query_problems`, with file and line, and
again when the connector is built), and every call runs in a
read-only transaction (SQLite opened with `mode=ro`, PostgreSQL `SET
TRANSACTION READ ONLY`) that is rolled back afterwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final, TypeVar

from sqlalchemy import Connection, Engine, RowMapping, TextClause, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from connectors.config import DEFAULT_SOURCE_TIMEOUT_S, SqlSource
from connectors.errors import ConnectorConfigError, SourceUnavailable
from connectors.models import (
    DeletionEvent,
    DeletionPage,
    JsonValue,
    LookupRequest,
    LookupResult,
    Record,
)
from connectors.source_api import MAX_CURSOR_LENGTH
from gateway.subjects.bsn import Bsn, InvalidBsnError

_SUBJECT_PARAMS: Final = frozenset({"bsn", "subject"})
_FORBIDDEN_WORDS: Final = re.compile(
    r"\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke|into|copy|call|"
    r"execute|pragma|attach|detach|vacuum|lock|for\s+update|for\s+share|set|do)\b",
    re.IGNORECASE,
)
_DELETION_COLUMNS: Final = ("cursor", "record_id", "bsn", "category", "deleted_at")
_QUERY_CANCELED: Final = "57014"  # PostgreSQL SQLSTATE when statement_timeout fires
_T = TypeVar("_T")


def _single_select(sql: str, allowed_params: frozenset[str], what: str) -> TextClause:
    """Refuse anything but one plain SELECT using only the expected bind parameters.

    Deliberately conservative (no comments, no CTEs, no second statement): a
    partner who needs more can put a view in their own database.
    """
    body = sql.strip().removesuffix(";").strip()
    if not re.match(r"select\b", body, re.IGNORECASE):
        raise ConnectorConfigError(f"{what}: must be a single SELECT")
    without_strings = re.sub(r"'(?:[^']|'')*'", "''", body)
    if ";" in without_strings or "--" in without_strings or "/*" in without_strings:
        raise ConnectorConfigError(f"{what}: one statement without comments, please")
    if _FORBIDDEN_WORDS.search(without_strings):
        raise ConnectorConfigError(f"{what}: only reading SELECTs are allowed")
    clause = text(body)
    params = set(clause.compile().params)
    if not params or not params <= allowed_params:
        expected = ", ".join(sorted(":" + p for p in allowed_params))
        raise ConnectorConfigError(f"{what}: bind parameters must be among {expected}")
    return clause


def query_problems(source: SqlSource) -> list[tuple[tuple[str, ...], str]]:
    """Why :class:`SqlConnector` would refuse each of ``source``'s queries, if it would.

    Each problem is (the key path under the `source:` block, why), so that
    ``ketenpoort policy check`` can name the covenant's file and line instead
    of the source only failing at its first query.
    """
    queries: list[tuple[tuple[str, ...], str, frozenset[str], str]] = [
        (("queries", category), sql, _SUBJECT_PARAMS, f"query for {category!r}")
        for category, sql in source.queries.items()
    ]
    if source.subject_query is not None:
        queries.append((("subject_query",), source.subject_query, _SUBJECT_PARAMS, "subject_query"))
    if source.deletions_query is not None:
        queries.append(
            (("deletions_query",), source.deletions_query, frozenset({"since"}), "deletions_query")
        )
    problems: list[tuple[tuple[str, ...], str]] = []
    for where, sql, allowed, what in queries:
        try:
            _single_select(sql, allowed, what)
        except ConnectorConfigError as error:
            problems.append((where, str(error)))
    return problems


def _read_only_url(url: str) -> str:
    """SQLite files open with mode=ro; a bare postgresql:// gets the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = parsed.database or ""
        if not database.startswith("file:"):
            database = "file:" + database
        query = dict(parsed.query)
        query.update({"mode": "ro", "uri": "true"})
        return parsed.set(database=database, query=query).render_as_string(hide_password=False)
    return url


def _json_value(value: object) -> JsonValue:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise SourceUnavailable("malformed")


def _timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SourceUnavailable("malformed") from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise SourceUnavailable("malformed")


def _record(category: str, row: RowMapping) -> Record:
    if "id" not in row or "updated" not in row or row["id"] is None:
        raise SourceUnavailable("malformed")
    fields = {k: _json_value(v) for k, v in row.items() if k not in ("id", "updated")}
    return Record(
        id=str(row["id"]), category=category, updated=_timestamp(row["updated"]), fields=fields
    )


class SqlConnector:
    """One read-only SELECT per category against a partner database.

    Each row becomes a Record: column `id` and `updated` are required, every
    other column is a field. `subject_query` (optional) tells whether the
    subject is known even without records; without it, any record means known.
    `deletions_query` (optional) binds `:since` (an integer cursor, 0 at the
    start) and returns columns cursor, record_id, bsn, category, deleted_at
    in cursor order.
    """

    def __init__(
        self,
        url: str,
        queries: Mapping[str, str],
        *,
        subject_query: str | None = None,
        deletions_query: str | None = None,
        timeout_s: float = DEFAULT_SOURCE_TIMEOUT_S,
        page_size: int = 500,
    ) -> None:
        if not queries:
            raise ConnectorConfigError("sql source: at least one category query is needed")
        self._queries = {
            category: _single_select(sql, _SUBJECT_PARAMS, f"query for {category!r}")
            for category, sql in queries.items()
        }
        self._subject_query = (
            _single_select(subject_query, _SUBJECT_PARAMS, "subject_query")
            if subject_query is not None
            else None
        )
        self._deletions_query = (
            _single_select(deletions_query, frozenset({"since"}), "deletions_query")
            if deletions_query is not None
            else None
        )
        self._timeout_s = timeout_s
        self._page_size = page_size
        self._engine: Engine = create_engine(_read_only_url(url), pool_pre_ping=True)

    def __repr__(self) -> str:
        return f"SqlConnector({self._engine.url.render_as_string(hide_password=True)!r})"

    def dispose(self) -> None:
        """Closes pooled connections (tests and shutdown)."""
        self._engine.dispose()

    async def lookup(self, request: LookupRequest) -> LookupResult:
        categories = [c for c in request.categories if c in self._queries]
        bsn = request.subject.reveal()
        return await self._run(lambda conn: self._lookup(conn, bsn, categories))

    async def deletions(self, since: str | None) -> DeletionPage:
        if self._deletions_query is None:
            return DeletionPage(events=[], next=since)
        if since is not None and not since.isdigit():
            raise ValueError("sql deletion cursors are non-negative integers")
        start = int(since) if since is not None else 0
        return await self._run(lambda conn: self._deletions(conn, start, since))

    def _lookup(self, conn: Connection, bsn: str, categories: Sequence[str]) -> LookupResult:
        records: list[Record] = []
        for category in categories:
            result = conn.execute(self._queries[category], _bind(self._queries[category], bsn))
            records.extend(_record(category, row) for row in result.mappings())
        known = bool(records)
        if self._subject_query is not None:
            found = conn.execute(self._subject_query, _bind(self._subject_query, bsn))
            known = found.first() is not None
        return LookupResult(subject_known=known, records=records)

    def _deletions(self, conn: Connection, start: int, since: str | None) -> DeletionPage:
        assert self._deletions_query is not None
        rows = (
            conn.execute(self._deletions_query, {"since": start})
            .mappings()
            .fetchmany(self._page_size)
        )
        events: list[DeletionEvent] = []
        cursor = since
        for row in rows:
            if any(column not in row for column in _DELETION_COLUMNS):
                raise SourceUnavailable("malformed")
            try:
                subject = Bsn(str(row["bsn"]))
            except InvalidBsnError:
                raise SourceUnavailable("malformed") from None
            events.append(
                DeletionEvent(
                    record_id=str(row["record_id"]),
                    subject=subject,
                    category=str(row["category"]),
                    deleted_at=_timestamp(row["deleted_at"]),
                )
            )
            cursor = str(row["cursor"])
            if not cursor.isdigit() or len(cursor) > MAX_CURSOR_LENGTH:
                raise SourceUnavailable("malformed")  # stored as sent, sent back next run
        return DeletionPage(events=events, next=cursor)

    async def _run(self, work: Callable[[Connection], _T]) -> _T:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.to_thread(self._in_read_only_transaction, work)
        except TimeoutError:
            raise SourceUnavailable("timeout") from None

    def _in_read_only_transaction(self, work: Callable[[Connection], _T]) -> _T:
        try:
            conn = self._engine.connect()
        except SQLAlchemyError:
            raise SourceUnavailable("connect") from None
        with conn:
            try:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                    timeout_ms = int(self._timeout_s * 1000)
                    conn.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
                elif conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                return work(conn)
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) == _QUERY_CANCELED:
                    raise SourceUnavailable("timeout") from None
                raise SourceUnavailable("database") from None
            except SQLAlchemyError:
                raise SourceUnavailable("database") from None
            finally:
                conn.rollback()


def _bind(clause: TextClause, bsn: str) -> dict[str, str]:
    return {name: bsn for name in clause.compile().params}
