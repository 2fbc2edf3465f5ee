"""What reports read: case metadata by attribute name, and the log's clear columns.

Reports never open a sealed field: from a case row they take only metadata
(phase, status, dates, opener and the workflow attributes such as referrer,
case type, municipality, region, triage outcome, closure reason and the
household's birth years); from an audit entry only its clear fields (kind,
outcome, party, source, category, reason, consent id, details). The subject
and the employee stay sealed.

Attributes are read *by name* (:data:`CASE_ATTRIBUTES`): a deployment whose
schema does not have one yet reports it as ``onbekend`` instead of failing,
so the reports grow with the case model rather than pinning it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry
from gateway.cases.models import Case

CASE_ATTRIBUTES = (
    "referrer",
    "case_type",
    "municipality",
    "region",
    "triage_outcome",
    "closure_reason",
)
UNKNOWN = "onbekend"


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CaseFacts:
    """One case's metadata: no pseudonym, no sealed field."""

    id: str
    purpose: str
    phase: str
    status: str
    opened_by: str
    created_at: datetime
    closed_at: datetime | None
    attributes: dict[str, str | None]
    birth_years: tuple[int, ...] = ()
    main_birth_year: int | None = None

    def attribute(self, name: str) -> str | None:
        return self.attributes.get(name)


@dataclass(frozen=True)
class EntryFacts:
    """One audit entry's clear fields (the body's subject and employee are never read)."""

    seq: int
    time: datetime
    kind: str
    outcome: str
    party: str | None
    purpose: str | None
    case: str | None
    source: str | None
    category: str | None
    reason: str | None
    consent_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


def _attribute_names(session: Session) -> tuple[str, ...]:
    mapper = inspect(Case)
    return tuple(name for name in CASE_ATTRIBUTES if name in mapper.attrs)


def _household(case: Case) -> tuple[tuple[int, ...], int | None]:
    """Birth years of the case's subjects, and the main person's, when the model has them."""
    subjects = getattr(case, "subjects", None)
    if not subjects:
        return (), None
    years: list[int] = []
    main: int | None = None
    for subject in subjects:
        year = getattr(subject, "birth_year", None)
        if isinstance(year, int):
            years.append(year)
            if getattr(subject, "role", None) == "hoofdpersoon" and main is None:
                main = year
    return tuple(years), main


def cases_of(session: Session, convenant: str) -> list[CaseFacts]:
    """Every case of the covenant (reports choose by their own dates)."""
    names = _attribute_names(session)
    out: list[CaseFacts] = []
    for case in session.scalars(select(Case).where(Case.convenant == convenant)):
        years, main = _household(case)
        out.append(
            CaseFacts(
                id=case.id,
                purpose=case.purpose,
                phase=case.phase,
                status=case.status,
                opened_by=case.opened_by,
                created_at=aware(case.created_at),
                closed_at=aware(case.closed_at) if case.closed_at else None,
                attributes={name: _text(getattr(case, name, None)) for name in names},
                birth_years=years,
                main_birth_year=main,
            )
        )
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def entries_of(
    session: Session, convenant: str, start: datetime, end: datetime
) -> Iterator[EntryFacts]:
    """The covenant's entries with ``start <= time < end``, oldest first, streamed."""
    statement = (
        select(AuditEntry.seq, AuditEntry.time, AuditEntry.body)
        .where(AuditEntry.convenant == convenant)
        .where(AuditEntry.time >= start, AuditEntry.time < end)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=2000)
    )
    for seq, time, body in session.execute(statement):
        entry = json.loads(body)
        details = entry.get("details")
        yield EntryFacts(
            seq=int(seq),
            time=aware(time),
            kind=str(entry.get("kind")),
            outcome=str(entry.get("outcome")),
            party=entry.get("party"),
            purpose=entry.get("purpose"),
            case=entry.get("case"),
            source=entry.get("source"),
            category=entry.get("category"),
            reason=entry.get("reason"),
            consent_id=entry.get("consent_id"),
            details=details if isinstance(details, dict) else {},
        )
