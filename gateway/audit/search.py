"""The privacy officer's view of the log: filtered, newest first, cursor-paged.

A subject is searched by pseudonym through the index outside the leaves, so
an erased person cannot be found any more; the officer sees their entries (if
reached by another filter) with ``"subject": "erased"``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry, AuditSubjectIndex
from gateway.audit.store import entry_aad
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import DataKey, open_sealed

MAX_LIMIT = 500
# Cursors name a seq; seqs live in a signed 64-bit column.
MAX_CURSOR = 2**63 - 1
_CURSOR = re.compile(r"s([0-9]{1,19})", re.ASCII)
ERASED = "erased"
_VIEW_FIELDS = (
    "seq",
    "time",
    "kind",
    "party",
    "employee",
    "convenant",
    "purpose",
    "case",
    "source",
    "category",
    "outcome",
    "reason",
    "consent_id",
    "records",
    "trimmed_fields",
    "trace_id",
    "caller_trace_id",
    "span_id",
    "covenant_version",
    "processing_activity",
)


class BadQuery(ValueError):
    """A filter the database cannot answer (e.g. a time outside the representable range)."""


class BadCursor(BadQuery):
    """A cursor this service did not hand out."""


@dataclass(frozen=True)
class EntryQuery:
    """The filters of one search.

    ``covenants`` limits the search to entries of those covenants: every
    person-facing route (API, /privacy) passes the officer's own covenants, so
    an empty tuple finds nothing. ``None`` means unscoped, for in-process
    operator tools (CLI, retention) only.
    """

    covenants: tuple[str, ...] | None = None
    subject_pseudonym: str | None = None
    party: str | None = None
    purpose: str | None = None
    case: str | None = None
    outcome: str | None = None
    kind: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class EntryPage:
    entries: list[dict[str, Any]]
    next: str | None


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; year 1 at +01:00 or year 9999 at -01:00 has no UTC form."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise BadQuery("time out of range") from None


def parse_cursor(cursor: str | None) -> int | None:
    """``s<seq>`` with ASCII digits only and within a 64-bit seq.

    ``str.isdigit`` and ``int`` also take Unicode digits (``s²``, ``s٣``) that
    the database cannot compare, so the pattern is ASCII-only and bounded.
    """
    if cursor is None or cursor == "":
        return None
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise BadCursor("unknown cursor")
    value = int(match.group(1))
    if value > MAX_CURSOR:
        raise BadCursor("unknown cursor")
    return value


def _statement(query: EntryQuery, before: int | None, limit: int) -> Any:
    statement = select(AuditEntry.seq, AuditEntry.leaf_hash, AuditEntry.body)
    if query.covenants is not None:
        if not query.covenants:
            statement = statement.where(false())
        else:
            statement = statement.where(AuditEntry.convenant.in_(query.covenants))
    if query.subject_pseudonym is not None:
        statement = statement.join(
            AuditSubjectIndex, AuditSubjectIndex.seq == AuditEntry.seq
        ).where(AuditSubjectIndex.pseudonym == query.subject_pseudonym)
    for column, value in (
        (AuditEntry.party, query.party),
        (AuditEntry.purpose, query.purpose),
        (AuditEntry.case_id, query.case),
        (AuditEntry.outcome, query.outcome),
        (AuditEntry.kind, query.kind),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.time_from is not None:
        statement = statement.where(AuditEntry.time >= _utc(query.time_from))
    if query.time_to is not None:
        statement = statement.where(AuditEntry.time < _utc(query.time_to))
    if before is not None:
        statement = statement.where(AuditEntry.seq < before)
    return statement.order_by(AuditEntry.seq.desc()).limit(limit)


def _open(key: DataKey | None, token: str, seq: int, name: str) -> str:
    if key is None:
        return ERASED
    return open_sealed(key, token, entry_aad(seq, name)).decode("utf-8")


def entry_view(
    entry: dict[str, Any], leaf_hash: bytes, keys: dict[str, DataKey | None]
) -> dict[str, Any]:
    """One entry as the officer sees it: stored fields, subject opened or marked erased."""
    view = {name: entry.get(name) for name in _VIEW_FIELDS}
    view["leaf_hash"] = leaf_hash.hex()
    view["details"] = entry.get("details") or {}
    subject = entry.get("subject")
    seq = int(entry["seq"])
    if isinstance(subject, dict):
        key = keys.get(str(subject.get("key")))
        view["subject"] = _open(key, str(subject.get("sealed")), seq, "subject")
        view["subject_scope"] = subject.get("scope")
        sealed_employee = entry.get("employee_sealed")
        if isinstance(sealed_employee, str):
            view["employee"] = _open(key, sealed_employee, seq, "employee")
    else:
        view["subject"] = None
    return view


def search_entries(session: Session, vault: SubjectVault, query: EntryQuery) -> EntryPage:
    """One page of matching entries (newest first) and the cursor of the next page."""
    limit = max(1, min(query.limit, MAX_LIMIT))
    before = parse_cursor(query.cursor)
    rows = session.execute(_statement(query, before, limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    parsed = [(json.loads(body), bytes(leaf)) for _seq, leaf, body in rows]
    key_ids = [
        str(entry["subject"]["key"])
        for entry, _ in parsed
        if isinstance(entry.get("subject"), dict)
    ]
    keys = dict(vault.open_keys(session, key_ids))
    entries = [entry_view(entry, leaf, keys) for entry, leaf in parsed]
    next_cursor = f"s{rows[-1][0]}" if more and rows else None
    return EntryPage(entries=entries, next=next_cursor)
