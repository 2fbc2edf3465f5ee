"""Federation calls (docs/federation.md)."""

from __future__ import annotations

from typing import Self

from pydantic import Field

from gateway.api.schemas.common import Out
from gateway.federation.elsewhere import PeerAnswer


class MirrorOut(Out):
    id: str
    phase: str
    status: str


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
