"""The one interface the broker, retention and rights code use to reach a source."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from connectors.models import (
    DeletionPage,
    ForwardedRightsRequest,
    LookupRequest,
    LookupResult,
    PeerRightsOutcome,
    PeerRightsReceipt,
    Record,
)


@runtime_checkable
class SourceConnector(Protocol):
    """A partner's bronregistratie, however it is reached.

    Implementations raise `SourceUnavailable` for anything that prevents a usable
    answer, and nothing that carries the source's own error text.
    """

    async def lookup(self, request: LookupRequest) -> LookupResult: ...

    async def deletions(self, since: str | None) -> DeletionPage: ...


@runtime_checkable
class RightsRequestForwarder(Protocol):
    """Optional capability: the source accepts forwarded correctie/verzet requests.

    Check with `isinstance(connector, RightsRequestForwarder)`; sources without it
    are handled by the rights process out of band.
    """

    async def forward_rights_request(
        self, request: ForwardedRightsRequest
    ) -> tuple[Record, ...] | None:
        """``None`` when the source answers later; its records when it answers an inzage now."""
        ...


@runtime_checkable
class PeerRightsExchange(Protocol):
    """Optional capability of a peer gateway: it files our correctie/verzet as its own request.

    Unlike a Source API source it answers with its own request id, and later
    tells where that request stands. Both raise ``PeerDown``/``PeerDenied``
    (a ``peer_*`` reason) when the peer gives no usable answer.
    """

    async def file_peer_rights_request(self, request: ForwardedRightsRequest) -> PeerRightsReceipt:
        """Filed at the peer (or found again: the peer files once per request id)."""
        ...

    async def peer_rights_outcome(
        self, peer_request: str, convenant: str, purpose: str
    ) -> PeerRightsOutcome:
        """The peer's request as it stands now."""
        ...


class TokenProvider(Protocol):
    """Returns a short-lived JWT the gateway signs for the given audience."""

    async def __call__(self, audience: str) -> str: ...
