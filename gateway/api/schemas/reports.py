"""Response models of /v1/reports and /v1/register (docs/api.md, "Reports and registers")."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.common import Out

CellOut = str | int | float | None


class ReportTableOut(Out):
    title: str = Field(description="Dutch title for people.")
    columns: list[str]
    rows: list[list[CellOut]] = Field(
        description='Label cells, then counts; a count under the threshold is the string "< 5".'
    )


class ReportOut(Out):
    kind: str
    convenant: str
    from_: str = Field(alias="from", description="First day of the period (ISO date).")
    to: str = Field(description="Last day of the period (ISO date, inclusive).")
    suppressed_below: int
    tables: dict[str, ReportTableOut]


class PartyRef(Out):
    id: str
    name: str


class ActivityOut(Out):
    processing_activity: str = Field(description="Stable URI; audit entries carry the same.")
    name: str
    purpose: str
    description: str
    controllers: list[PartyRef]
    legal_ground: str
    data_categories: list[dict[str, str]]
    person_categories: list[str]
    recipients: list[PartyRef]
    sources: list[PartyRef]
    retention: dict[str, str]
    safeguards: list[str]
    transfers_outside_eea: str


class RegisterOut(Out):
    convenant: str
    title: str
    covenant_version: str
    activities: list[ActivityOut]


class SubjectRefOut(Out):
    ref: str | None
    role: str | None


class CaseMetaOut(Out):
    """A case as the privacy officer sees it in the list: metadata, no personal data."""

    id: str
    convenant: str
    purpose: str
    phase: str
    status: str
    opened_by: str
    participants: list[str]
    created_at: str
    closed_at: str | None
    subjects: list[SubjectRefOut]
    referrer: str | None = None
    case_type: str | None = None
    municipality: str | None = None
    region: str | None = None
    triage_outcome: str | None = None
    closure_reason: str | None = None


class CaseListOut(Out):
    cases: list[CaseMetaOut]
