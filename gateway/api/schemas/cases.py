"""Cases and queries (API.md §2–3)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from gateway.api.schemas.common import Out, utc_iso, utc_iso_or_none
from gateway.cases.service import CaseRecord, ReferralView


class SubjectOut(Out):
    """A person of the case, named only by ref and role (never by BSN)."""

    ref: str = Field(description="s1, s2, …; s1 is the hoofdpersoon.")
    role: str
    birth_year: int | None = None
    erased: bool = Field(default=False, description="True once the person has been erased.")


class TriageOut(Out):
    outcome: str = Field(description="opgepakt | niet_opgepakt | doorverwezen")
    reason: str
    referred_to: str | None = None
    decided_by: str = Field(description="The party that decided.")
    employee: str
    at: str = Field(description="ISO 8601 timestamp.")


class ReferralOut(Out):
    """What the referrer (not a participant) sees of its referral: status and triage outcome.

    A participant gets the whole case (:class:`CaseOut`, which extends this).
    """

    id: str
    status: str
    referrer: str | None = None
    triage_outcome: str | None = None

    @classmethod
    def of_referral(cls, view: ReferralView) -> Self:
        return cls(
            id=view.id,
            status=view.status,
            referrer=view.referrer,
            triage_outcome=view.triage_outcome,
        )


class CaseOut(ReferralOut):
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
    subjects: list[SubjectOut] = Field(default_factory=list)
    case_type: str | None = None
    municipality: str | None = None
    region: str | None = None
    triage: TriageOut | None = None
    closure_reason: str | None = None
    closure_note: str | None = None

    @classmethod
    def of(cls, case: CaseRecord) -> Self:
        triage = case.triage
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
            subjects=[
                SubjectOut(
                    ref=s.ref, role=s.role, birth_year=s.birth_year, erased=s.pseudonym is None
                )
                for s in case.subjects
            ],
            referrer=case.referrer,
            triage_outcome=triage.outcome if triage is not None else None,
            case_type=case.attributes.case_type,
            municipality=case.attributes.municipality,
            region=case.attributes.region,
            triage=(
                TriageOut(
                    outcome=triage.outcome,
                    reason=triage.reason,
                    referred_to=triage.referred_to,
                    decided_by=triage.decided_by,
                    employee=triage.employee,
                    at=utc_iso(triage.at),
                )
                if triage is not None
                else None
            ),
            closure_reason=case.closure_reason,
            closure_note=case.closure_note,
        )


class SubjectAddedOut(CaseOut):
    """The case after adding a person, and the ref the new person got."""

    added: SubjectOut


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
    contested_withheld: int | None = Field(
        default=None,
        description=(
            "Records left out while a correctie of them is pending, under a covenant "
            "that withholds contested records (rights.contested: withhold)."
        ),
    )


class QueryOut(Out):
    query_id: str
    case: str
    purpose: str
    subject: SubjectOut | None = Field(
        default=None, description="The person the query was about (ref and role)."
    )
    results: list[SourceResultOut]
    trace_id: str | None
