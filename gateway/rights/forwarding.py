"""Passing a rights request to the sources concerned (Source API rights call).

An inzage goes to every joint controller and may come back answered at once
(the source's records about the person); see ``gateway/rights/answers.py``.

Ketenpoort is the single intake (WGS/BGS art. 1.1), so the request must reach
each source that holds the person's records. A source without the optional
rights capability is marked ``unsupported``: its party handles the request
out of band, and the FG sees that on the request.

A peer region (``gateway`` source, ``PeerRightsExchange``) files a correctie
or verzet as its own request and gives its id back; that id is kept on the
forwarding, so the outcome can be pulled later (``peer_outcomes.py``). A
request that came from a peer is never passed to another peer (one hop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from connectors import (
    ConnectorConfigError,
    ForwardedRightsRequest,
    PeerDenied,
    PeerDown,
    PeerRightsExchange,
    RightsRequestForwarder,
    SourceConnector,
    SourceUnavailable,
    UnsupportedSourceError,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.views import Forwarding

log = logging.getLogger("ketenpoort.rights")


class SourceConnectors(Protocol):
    """The connector registry (``gateway.brokering.registry``), as far as forwarding needs it.

    A protocol: the broker consults the rights registers, so rights must not
    import the broker's package.
    """

    def get(
        self, policy: CompiledPolicy, covenant_id: str, party_id: str
    ) -> SourceConnector | None: ...

    def timeout_s(
        self, policy: CompiledPolicy, covenant_id: str, party_id: str, default: float | None = None
    ) -> float: ...


class Forwarder:
    def __init__(
        self,
        registry: SourceConnectors,
        policy: Callable[[], CompiledPolicy],
        default_timeout_s: float,
    ) -> None:
        self._registry = registry
        self._policy = policy
        self._default_timeout_s = default_timeout_s

    async def forward(
        self, convenant: str, parties: Sequence[str], request: ForwardedRightsRequest
    ) -> list[Forwarding]:
        return list(
            await asyncio.gather(*(self._one(convenant, party, request) for party in parties))
        )

    async def _one(self, convenant: str, party: str, request: ForwardedRightsRequest) -> Forwarding:
        policy = self._policy()
        try:
            connector = self._registry.get(policy, convenant, party)
        except (ConnectorConfigError, UnsupportedSourceError) as error:
            log.warning("source %s has no usable connector: %s", party, type(error).__name__)
            return Forwarding(party, "failed", "no_connector")
        timeout = self._registry.timeout_s(policy, convenant, party, self._default_timeout_s)
        if isinstance(connector, PeerRightsExchange):
            return await self._to_peer(connector, party, request, timeout)
        if connector is None or not isinstance(connector, RightsRequestForwarder):
            return Forwarding(party, "unsupported")
        try:
            answered = await asyncio.wait_for(connector.forward_rights_request(request), timeout)
        except TimeoutError:
            return Forwarding(party, "failed", "timeout")
        except SourceUnavailable as error:
            return Forwarding(party, "failed", str(error.reason))
        return Forwarding(party, "forwarded", records=answered)

    @staticmethod
    async def _to_peer(
        connector: PeerRightsExchange,
        party: str,
        request: ForwardedRightsRequest,
        timeout: float,
    ) -> Forwarding:
        """A peer region files it as its own request; its id is kept for the outcome."""
        if request.type == "inzage":
            return Forwarding(party, "unsupported", "peer_region")
        if request.origin != "local":
            return Forwarding(party, "unsupported", "one_hop")
        try:
            receipt = await asyncio.wait_for(connector.file_peer_rights_request(request), timeout)
        except TimeoutError:
            return Forwarding(party, "failed", "timeout")
        except (PeerDown, PeerDenied) as error:
            return Forwarding(party, "failed", error.reason)
        except SourceUnavailable as error:
            return Forwarding(party, "failed", str(error.reason))
        return Forwarding(party, "forwarded", peer_request=receipt.id)
