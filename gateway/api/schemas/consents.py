"""OvJ consent (API.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field

from gateway.api.schemas.common import Out, utc_iso, utc_iso_or_none
from gateway.consent.service import ConsentView


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


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
            created_at=utc_iso(view.created_at),
            status=view.effective_status(today),
            decided_at=utc_iso_or_none(view.decided_at),
            decided_by_party=view.decided_by_party,
            decided_by_employee=view.decided_by_employee,
            reason=view.reason,
            valid_until=_iso(view.valid_until),
            granted_categories=list(view.granted_categories),
            granted_recipients=list(view.granted_recipients),
            withheld_until=_iso(view.withheld_until),
            revoked_at=utc_iso_or_none(view.revoked_at),
            revoked_by_employee=view.revoked_by_employee,
            version=view.version,
        )


class ConsentListOut(Out):
    consents: list[ConsentOut]
