"""Federation calls (docs/federation.md)."""

from __future__ import annotations

from typing import Self

from pydantic import Field

from gateway.api.schemas.common import IsoDateTime, Out
from gateway.federation.elsewhere import PeerAnswer


class MirrorOut(Out):
    id: str
    phase: str
    status: str


class PeerRightsOut(Out):
    """``POST /v1/federation/rights-requests``: our own request for the peer's."""

    id: str
    type: str
    status: str = Field(description="pending on filing; a repeat shows where it stands.")
    deadline: IsoDateTime


class PeerRightsOutcomeOut(Out):
    """``GET /v1/federation/rights-requests/{id}``: for the filing peer only."""

    id: str
    peer_request: str
    type: str
    status: str = Field(
        description="pending, granted, partially_granted, refused or withdrawn (ours)."
    )
    decided_at: IsoDateTime | None = None
    execute_by: IsoDateTime | None = None
    executed_at: IsoDateTime | None = None


class KnownOut(Out):
    known: bool


class PeerAnswerOut(Out):
    peer: str
    region: str
    status: str = Field(description="known, unknown, unavailable or denied.")
    reason: str

    @classmethod
    def of(cls, answer: PeerAnswer) -> Self:
        return cls(
            peer=answer.peer, region=answer.region, status=answer.status, reason=answer.reason
        )


class KnownElsewhereOut(Out):
    case: str
    results: list[PeerAnswerOut]
    trace_id: str | None
