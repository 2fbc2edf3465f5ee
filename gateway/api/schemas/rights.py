"""Rights of the person concerned (API.md §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field, ValidationInfo, field_validator

from gateway.api.schemas.common import IsoDateTime, Out, ViewOut
from gateway.rights.views import RequestView


class ForwardingOut(ViewOut):
    party: str
    status: str = Field(description="forwarded, failed or unsupported.")
    reason: str | None
    peer_request: str | None = Field(
        default=None, description="A peer region: its own request id for this one."
    )
    outcome: str | None = Field(
        default=None,
        description="A peer region: its status as last pulled (pending, granted, "
        "partially_granted, refused, withdrawn).",
    )
    outcome_at: str | None = Field(default=None, description="When the peer decided (ISO 8601).")
    executed_at: str | None = Field(
        default=None, description="When the peer carried a granted correctie out (ISO 8601)."
    )
    synced_at: str | None = Field(
        default=None, description="When the current outcome was pulled from the peer."
    )


class SourceStatusOut(ViewOut):
    party: str
    status: str = Field(description="sent, answered or late (past the deadline, no answer).")
    answered_at: IsoDateTime | None = None
    records: int | None = Field(
        default=None,
        validation_alias="record_count",
        description="How many records it reported.",
    )


class ExtensionOut(Out):
    first_deadline: IsoDateTime
    until: IsoDateTime
    extended_at: IsoDateTime
    by: str | None
    reason: str | None = Field(description="The person reads it; null once they are erased.")


class RightsRequestOut(ViewOut):
    id: str
    type: str
    convenant: str
    covenants: list[str]
    status: str
    channel: str
    received: IsoDateTime = Field(validation_alias="received_at", description="ISO 8601 timestamp.")
    deadline: IsoDateTime = Field(description="ISO 8601 timestamp.")
    overdue: bool
    responsible_party: str
    source: str | None = Field(validation_alias="source_party")
    filed_by: str | None = Field(validation_alias="filed_by_party")
    cases: list[str]
    records: list[str]
    details: str | None
    decision: str | None = None
    decided_at: IsoDateTime | None
    decided_by: str | None = Field(validation_alias="decided_by_party")
    reason: str | None = Field(validation_alias="decision_reason")
    forwarded: list[ForwardingOut]
    sources: list[SourceStatusOut] = Field(
        default_factory=list, description="An inzage: every joint controller it was sent to."
    )
    extension: ExtensionOut | None = None
    withdrawn_at: IsoDateTime | None = None
    representative: dict[str, str] | None = Field(
        default=None, description='{"relation": "ouder" | "voogd" | "gemachtigde"}'
    )
    execute_by: IsoDateTime | None = Field(
        default=None, description="A granted correctie: carry out by."
    )
    executed_at: IsoDateTime | None = None
    execution_overdue: bool = False
    late_sources: int = 0

    @field_validator("representative", mode="before")
    @classmethod
    def _relation(cls, value: object) -> object:
        """From a view, ``representative`` is the bare relation; the wire wraps it."""
        return {"relation": value} if isinstance(value, str) else value

    @field_validator("overdue", "execution_overdue", mode="before")
    @classmethod
    def _overdue_as_of(cls, value: object, info: ValidationInfo) -> object:
        """From a view, ``overdue`` is its method, asked as of the ``now`` in the context."""
        if callable(value) and info.context is not None:
            return value(info.context["now"])
        return value

    @classmethod
    def of(cls, view: RequestView, now: datetime) -> Self:
        """The view's fields; ``overdue`` as of ``now``; ``decision`` only once decided."""
        out = cls.model_validate(view, context={"now": now})
        out.covenants = list(view.covenants or (view.convenant,))
        out.decision = view.status if view.decided else None
        out.extension = _extension(view)
        return out


def _extension(view: RequestView) -> ExtensionOut | None:
    if view.first_deadline is None or view.extended_at is None:
        return None
    return ExtensionOut(
        first_deadline=view.first_deadline,
        until=view.deadline,
        extended_at=view.extended_at,
        by=view.extended_by_party,
        reason=view.extension_reason,
    )


class RightsRequestListOut(Out):
    requests: list[RightsRequestOut]


class DisclosureOut(Out):
    time: str
    recipient: str
    recipient_name: str
    source: str | None
    source_name: str | None
    category: str | None
    purpose: str | None
    purpose_description: str | None
    case: str | None
    records: int | None


class WithheldGroundOut(Out):
    ground: str
    count: int
    until: str | None


class WithheldOut(Out):
    count: int
    grounds: list[str]
    by_ground: list[WithheldGroundOut]
    until: str | None = Field(default=None, description="Present only when something is withheld.")


class DisclosureGroupOut(Out):
    recipient: str
    recipient_name: str
    source: str | None
    source_name: str | None
    category: str | None
    purpose: str | None
    purpose_description: str | None
    case: str | None
    count: int = Field(description="How many disclosures of this kind (none left out).")
    records: int | None
    first: str = Field(description="Time of the oldest of them.")
    last: str = Field(description="Time of the newest of them.")


class DisclosuresOut(Out):
    disclosures: list[DisclosureOut] = Field(
        description="Itemised, newest first, at most 5,000 per answer (see complete)."
    )
    withheld: WithheldOut
    complete: bool = Field(
        description="False when disclosures does not itemise every one; summary counts all."
    )
    total: int = Field(description="Every disclosure shown to the person (not withheld).")
    summary: list[DisclosureGroupOut] = Field(
        description="Every shown disclosure, grouped by recipient, source, category, "
        "purpose and case."
    )
    next_before: int | None = Field(
        default=None,
        description="Present when older disclosures did not fit: ask again with ?before=.",
    )


class WithholdingOut(Out):
    id: int
    case: str
    subject: str = Field(
        default="s1", description="The person of the case it is about: s1 (hoofdpersoon), s2…"
    )
    category: str
    source: str
    ground: str = Field(
        description="bescherming_slachtoffer, bescherming_melder or lopend_onderzoek."
    )
    until: str = Field(description="ISO date; withheld while today is before it.")


class NoticeOut(Out):
    id: int
    case: str
    subject: str
    informed: bool
    how: str | None
    at: str | None
    ground: str | None
    review_on: str | None
    by: str
