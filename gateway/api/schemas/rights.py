"""Rights of the person concerned (API.md §6)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.common import Out


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
