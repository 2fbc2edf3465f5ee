"""OvJ consent (API.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field

from gateway.api.schemas.common import Out
from gateway.consent.service import ConsentView


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


class MotivationOut(Out):
    code: str = Field(description="An id from the covenant's motivation_codes.")
    text: str


class ConsentOut(Out):
    id: str
    case: str
    convenant: str
    purpose: str
    recipient: str
    case_phase: str
    categories: list[str]
    requested_by_employee: str
    created_at: str = Field(description="ISO 8601 timestamp.")
    status: str = Field(description="pending, granted, refused, revoked or expired.")
    decided_at: str | None
    decided_by_party: str | None
    decided_by_employee: str | None
    reason: str | None
    valid_until: str | None = Field(description="ISO date.")
    granted_categories: list[str]
    granted_recipients: list[str]
    withheld_until: str | None = Field(description="ISO date.")
    revoked_at: str | None
    revoked_by_employee: str | None
    version: int = Field(description="Send it back with a decision (409 if it moved on).")
    requester: str = Field(description="The party that asked (the recipient).")
    employee: str = Field(description="The requester's employee id.")
    motivation: MotivationOut | None = Field(description="Why the requester needs the data.")
    subject_ref: str = Field(description="The case's subject the request is about, e.g. s1.")
    sources: list[str] = Field(description="The sources that would answer this request.")
    objection_pending: bool = Field(description="A verzet restricts the case.")
    granted_sources: list[str] | None = Field(description="null: every source.")
    granted_fields: dict[str, list[str]] | None = Field(
        description="Per category the fields granted; null or absent: every field."
    )

    @classmethod
    def of(cls, view: ConsentView, today: date) -> Self:
        """``status`` is as of ``today``: a grant past its ``valid_until`` reads expired."""
        return cls(
            id=view.id,
            case=view.case,
            convenant=view.convenant,
            purpose=view.purpose,
            recipient=view.recipient,
            case_phase=view.case_phase,
            categories=list(view.categories),
            requested_by_employee=view.requested_by_employee,
            created_at=view.created_at.isoformat(),
            status=view.effective_status(today),
            decided_at=_iso(view.decided_at),
            decided_by_party=view.decided_by_party,
            decided_by_employee=view.decided_by_employee,
            reason=view.reason,
            valid_until=_iso(view.valid_until),
            granted_categories=list(view.granted_categories),
            granted_recipients=list(view.granted_recipients),
            withheld_until=_iso(view.withheld_until),
            revoked_at=_iso(view.revoked_at),
            revoked_by_employee=view.revoked_by_employee,
            version=view.version,
            requester=view.recipient,
            employee=view.requested_by_employee,
            motivation=(
                MotivationOut(code=view.motivation_code, text=view.motivation_text or "")
                if view.motivation_code is not None
                else None
            ),
            subject_ref=view.subject_ref,
            sources=list(view.sources),
            objection_pending=view.objection_pending,
            granted_sources=(
                list(view.granted_sources) if view.granted_sources is not None else None
            ),
            granted_fields=(
                {cat: list(names) for cat, names in view.granted_fields.items()}
                if view.granted_fields is not None
                else None
            ),
        )


class ConsentListOut(Out):
    consents: list[ConsentOut]
