"""OvJ consent (API.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field

from gateway.api.schemas.common import IsoDate, IsoDateTime, Out, ViewOut
from gateway.consent.service import ConsentView


class ConsentOut(ViewOut):
    id: str
    case: str
    convenant: str
    purpose: str
    recipient: str
    case_phase: str
    categories: list[str]
    requested_by_employee: str
    created_at: IsoDateTime = Field(description="ISO 8601 timestamp.")
    status: str = Field(description="pending, granted, refused, revoked or expired.")
    decided_at: IsoDateTime | None
    decided_by_party: str | None
    decided_by_employee: str | None
    reason: str | None
    valid_until: IsoDate | None = Field(description="ISO date.")
    granted_categories: list[str]
    granted_recipients: list[str]
    withheld_until: IsoDate | None = Field(description="ISO date.")
    revoked_at: IsoDateTime | None
    revoked_by_employee: str | None
    version: int = Field(description="Send it back with a decision (409 if it moved on).")

    @classmethod
    def of(cls, view: ConsentView, today: date) -> Self:
        """The view's fields; ``status`` as of ``today`` (past ``valid_until``: expired)."""
        out = cls.model_validate(view)
        out.status = view.effective_status(today)
        return out


class ConsentListOut(Out):
    consents: list[ConsentOut]
