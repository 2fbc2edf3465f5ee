"""Rights of the person concerned (API.md §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field

from gateway.api.schemas.common import Out, utc_iso, utc_iso_or_none
from gateway.rights.views import RequestView


class ForwardingOut(Out):
    party: str
    status: str = Field(description="forwarded, failed or unsupported.")
    reason: str | None


class RightsRequestOut(Out):
    id: str
    type: str
    convenant: str
    covenants: list[str]
    status: str
    channel: str
    received: str = Field(description="ISO 8601 timestamp.")
    deadline: str = Field(description="ISO 8601 timestamp.")
    overdue: bool
    responsible_party: str
    source: str | None
    filed_by: str | None
    cases: list[str]
    records: list[str]
    details: str | None
    decision: str | None
    decided_at: str | None
    decided_by: str | None
    reason: str | None
    forwarded: list[ForwardingOut]

    @classmethod
    def of(cls, view: RequestView, now: datetime) -> Self:
        """``overdue`` as of ``now``; ``decision`` only once decided."""
        return cls(
            id=view.id,
            type=view.type,
            convenant=view.convenant,
            covenants=list(view.covenants or (view.convenant,)),
            status=view.status,
            channel=view.channel,
            received=utc_iso(view.received_at),
            deadline=utc_iso(view.deadline),
            overdue=view.overdue(now),
            responsible_party=view.responsible_party,
            source=view.source_party,
            filed_by=view.filed_by_party,
            cases=list(view.cases),
            records=list(view.records),
            details=view.details,
            decision=view.status if view.decided else None,
            decided_at=utc_iso_or_none(view.decided_at),
            decided_by=view.decided_by_party,
            reason=view.decision_reason,
            forwarded=[
                ForwardingOut(party=item.party, status=item.status, reason=item.reason)
                for item in view.forwarded
            ],
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


class DisclosuresOut(Out):
    disclosures: list[DisclosureOut]
    withheld: WithheldOut
