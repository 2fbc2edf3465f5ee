"""Passing a rights request to the sources concerned (Source API rights call).

An inzage goes to every joint controller and may come back answered at once
(the source's records about the person); see ``gateway/rights/answers.py``.

Ketenpoort is the single intake (WGS/BGS art. 1.1), so the request must reach
each source that holds the person's records. A source without the optional
rights capability is marked ``unsupported``: its party handles the request
out of band, and the FG sees that on the request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from connectors import (
    ConnectorConfigError,
    ForwardedRightsRequest,
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
        if connector is None or not isinstance(connector, RightsRequestForwarder):
            return Forwarding(party, "unsupported")
        timeout = self._registry.timeout_s(policy, convenant, party, self._default_timeout_s)
        try:
            answered = await asyncio.wait_for(connector.forward_rights_request(request), timeout)
        except TimeoutError:
            return Forwarding(party, "failed", "timeout")
        except SourceUnavailable as error:
            return Forwarding(party, "failed", str(error.reason))
        return Forwarding(party, "forwarded", records=answered)
