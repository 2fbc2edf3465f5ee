"""Legal grounds per subject (API.md §2b)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field

from gateway.api.schemas.common import Out, utc_iso, utc_iso_or_none
from gateway.grounds.service import GroundView


class GroundOut(Out):
    id: str
    case: str
    subject: str = Field(description="The subject ref within the case, e.g. s1; never a BSN.")
    ground: str = Field(
        description="toestemming_betrokkene, conflict_van_plichten or wettelijke_grondslag."
    )
    article: str | None
    reference: str = Field(description="The signed form or the documented weighing.")
    categories: list[str]
    recipients: list[str] | None = Field(description="null: every recipient the rules allow.")
    valid_until: str | None = Field(description="ISO date; null: until withdrawn.")
    status: str = Field(description="active, expired or withdrawn (as of today).")
    recorded_by_party: str
    recorded_by_employee: str
    recorded_at: str = Field(description="ISO 8601 timestamp.")
    withdrawn_at: str | None
    withdrawn_by: str | None = Field(description="A party id, or betrokkene (through /mijn).")
    withdraw_reason: str | None

    @classmethod
    def of(cls, view: GroundView, today: date) -> Self:
        return cls(
            id=view.id,
            case=view.case,
            subject=view.subject,
            ground=view.ground,
            article=view.article,
            reference=view.reference,
            categories=list(view.categories),
            recipients=list(view.recipients) if view.recipients is not None else None,
            valid_until=view.valid_until.isoformat() if view.valid_until else None,
            status=view.status(today),
            recorded_by_party=view.recorded_by_party,
            recorded_by_employee=view.recorded_by_employee,
            recorded_at=utc_iso(view.recorded_at),
            withdrawn_at=utc_iso_or_none(view.withdrawn_at),
            withdrawn_by=view.withdrawn_by,
            withdraw_reason=view.withdraw_reason,
        )


class GroundListOut(Out):
    grounds: list[GroundOut]
