"""OvJ consent (API.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import AliasChoices, Field

from gateway.api.schemas.common import IsoDate, IsoDateTime, Out, ViewOut
from gateway.consent.service import ConsentView


class MotivationOut(Out):
    code: str = Field(description="An id from the covenant's motivation_codes.")
    text: str


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
    requester: str = Field(
        validation_alias=AliasChoices("requester", "recipient"),
        description="The party that asked (the recipient).",
    )
    employee: str = Field(
        validation_alias=AliasChoices("employee", "requested_by_employee"),
        description="The requester's employee id.",
    )
    motivation: MotivationOut | None = Field(
        default=None, description="Why the requester needs the data."
    )
    subject_ref: str = Field(description="The case's subject the request is about, e.g. s1.")
    sources: list[str] = Field(description="The sources that would answer this request.")
    objection_pending: bool = Field(description="A verzet restricts the case.")
    granted_sources: list[str] | None = Field(description="null: every source.")
    granted_fields: dict[str, list[str]] | None = Field(
        description="Per category the fields granted; null or absent: every field."
    )

    @classmethod
    def of(cls, view: ConsentView, today: date) -> Self:
        """The view's fields; ``status`` as of ``today`` (past ``valid_until``: expired)."""
        out = cls.model_validate(view)
        out.status = view.effective_status(today)
        if view.motivation_code is not None:
            out.motivation = MotivationOut(
                code=view.motivation_code, text=view.motivation_text or ""
            )
        return out


class ConsentListOut(Out):
    consents: list[ConsentOut]
