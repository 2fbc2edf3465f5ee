"""What a peer Ketenpoort answers, as strict models (API.md §3 and the federation calls).

Unknown keys are ignored (a peer may add fields); a wrong shape is not trusted
at all. Validate raw bytes with ``model_validate_json``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from gateway.subjects.bsn import holds_bsn

Identifier = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]


def _no_bsn(value: str) -> str:
    """A peer's request id is kept on our forwarding and logged in clear: never a BSN."""
    if holds_bsn(value):
        raise ValueError("must not contain a BSN")
    return value


PeerRequestId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"), AfterValidator(_no_bsn)
]
"""A peer's rights request id: stored, logged and put in a URL path here."""
PeerConsentId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$"), AfterValidator(_no_bsn)
]
"""A peer OvJ's consent id: logged in clear in our audit entry and stored with a
withholding (``withholdings.consent_id`` is ``String(40)``), so an id's shape, never a BSN."""
PeerRightsStatus = Literal["pending", "granted", "partially_granted", "refused", "withdrawn"]
"""What a peer's request can stand at (``RightsRequest.status``); stored, logged, shown."""


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class WireRecordOut(_Wire):
    id: Identifier
    updated: AwareDatetime
    fields: dict[str, JsonValue]
    contested: bool = False  # a correctie is pending at the peer: the mark must travel on


class WireSourceResult(_Wire):
    source: Identifier | None
    category: Identifier
    status: Literal["ok", "denied", "pending_consent", "unavailable", "not_found"]
    reason: Reason
    consent_id: PeerConsentId | None = None
    withheld_until: date | None = None
    records: list[WireRecordOut] | None = Field(default=None, max_length=10_000)


class WireQueryAnswer(_Wire):
    query_id: Identifier
    results: list[WireSourceResult] = Field(max_length=10_000)
    trace_id: str | None = None


class WireMirrorCase(_Wire):
    id: Identifier
    phase: Identifier
    status: Identifier


class WireKnownAnswer(_Wire):
    known: bool


class WireRightsReceipt(_Wire):
    """``POST /v1/federation/rights-requests``: the peer's own request for ours."""

    id: PeerRequestId
    type: Identifier
    status: PeerRightsStatus


class WireRightsOutcome(_Wire):
    """``GET /v1/federation/rights-requests/{id}``: where the peer's request stands."""

    id: PeerRequestId
    status: PeerRightsStatus
    decided_at: AwareDatetime | None = None
    execute_by: AwareDatetime | None = None
    executed_at: AwareDatetime | None = None
