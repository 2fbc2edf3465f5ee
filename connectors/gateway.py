"""Configuration of a peer Ketenpoort reached through its partner API (API.md §3).

Only the configuration lives here for now. The `GatewayConnector` itself comes
with the federation work: it needs token exchange with the peer and must let
both sides enforce their own covenant, which a placeholder would only fake.
Until then `build_connector` refuses `type: gateway` with
`UnsupportedSourceError`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GatewayPeer:
    """Another region's Ketenpoort: where to ask and where its signing keys are."""

    base_url: str
    jwks_uri: str
