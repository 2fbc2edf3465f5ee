"""Rights of the person concerned (API.md §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field

from gateway.api.schemas.common import Out
from gateway.rights.views import RequestView


class ForwardingOut(Out):
    party: str
    status: str = Field(description="forwarded, failed or unsupported.")
    reason: str | None


class SourceStatusOut(Out):
    party: str
    status: str = Field(description="sent, answered or late (past the deadline, no answer).")
    answered_at: str | None = None
    records: int | None = Field(default=None, description="How many records it reported.")


class ExtensionOut(Out):
    first_deadline: str
    until: str
    extended_at: str
    by: str | None
    reason: str | None = Field(description="The person reads it; null once they are erased.")


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
    sources: list[SourceStatusOut] = Field(
        default_factory=list, description="An inzage: every joint controller it was sent to."
    )
    extension: ExtensionOut | None = None
    withdrawn_at: str | None = None
    representative: dict[str, str] | None = Field(
        default=None, description='{"relation": "ouder" | "voogd" | "gemachtigde"}'
    )
    execute_by: str | None = Field(default=None, description="A granted correctie: carry out by.")
    executed_at: str | None = None
    execution_overdue: bool = False
    late_sources: int = 0

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
            received=view.received_at.isoformat(),
            deadline=view.deadline.isoformat(),
            overdue=view.overdue(now),
            responsible_party=view.responsible_party,
            source=view.source_party,
            filed_by=view.filed_by_party,
            cases=list(view.cases),
            records=list(view.records),
            details=view.details,
            decision=view.status if view.decided else None,
            decided_at=view.decided_at.isoformat() if view.decided_at else None,
            decided_by=view.decided_by_party,
            reason=view.decision_reason,
            forwarded=[
                ForwardingOut(party=item.party, status=item.status, reason=item.reason)
                for item in view.forwarded
            ],
            sources=[
                SourceStatusOut(
                    party=item.party,
                    status=item.status,
                    answered_at=_iso(item.answered_at),
                    records=item.record_count,
                )
                for item in view.sources
            ],
            extension=_extension(view),
            withdrawn_at=_iso(view.withdrawn_at),
            representative={"relation": view.representative} if view.representative else None,
            execute_by=_iso(view.execute_by),
            executed_at=_iso(view.executed_at),
            execution_overdue=view.execution_overdue(now),
            late_sources=view.late_sources,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _extension(view: RequestView) -> ExtensionOut | None:
    if view.first_deadline is None or view.extended_at is None:
        return None
    return ExtensionOut(
        first_deadline=view.first_deadline.isoformat(),
        until=view.deadline.isoformat(),
        extended_at=view.extended_at.isoformat(),
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


class DisclosuresOut(Out):
    disclosures: list[DisclosureOut]
    withheld: WithheldOut


class WithholdingOut(Out):
    id: int
    case: str
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
