"""Federation calls (docs/federation.md)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.common import Out


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


class KnownElsewhereOut(Out):
    case: str
    results: list[PeerAnswerOut]
    trace_id: str | None
