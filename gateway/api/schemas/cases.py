"""Cases and queries (API.md §2–3)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from gateway.api.schemas.common import Out, utc_iso, utc_iso_or_none
from gateway.cases.service import CaseRecord


class CaseOut(Out):
    id: str
    convenant: str
    purpose: str
    phase: str
    status: str
    participants: list[str]
    opened_by: str
    created_at: str = Field(description="ISO 8601 timestamp.")
    updated_at: str = Field(description="ISO 8601 timestamp.")
    closed_at: str | None = Field(description="ISO 8601 timestamp; null while open.")

    @classmethod
    def of(cls, case: CaseRecord) -> Self:
        return cls(
            id=case.id,
            convenant=case.convenant,
            purpose=case.purpose,
            phase=case.phase,
            status=case.status,
            participants=list(case.participants),
            opened_by=case.opened_by,
            created_at=utc_iso(case.created_at),
            updated_at=utc_iso(case.updated_at),
            closed_at=utc_iso_or_none(case.closed_at),
        )


class RecordOut(Out):
    id: str
    updated: str
    fields: dict[str, Any]
    contested: bool | None = Field(
        default=None, description="Present (true) only while a correctie of it is pending."
    )


class SourceResultOut(Out):
    """One source and category: ``status`` with a machine-readable ``reason``."""

    source: str | None
    category: str
    status: str
    reason: str
    consent_id: str | None = Field(default=None, description="Present when consent applies.")
    withheld_until: str | None = Field(
        default=None, description="ISO date; present when the OvJ withheld it from inzage."
    )
    records: list[RecordOut] | None = Field(
        default=None, description="Present only when records may leave."
    )


class QueryOut(Out):
    query_id: str
    case: str
    purpose: str
    results: list[SourceResultOut]
    trace_id: str | None
