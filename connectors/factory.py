"""Builds a connector from a covenant party's typed `source:` block (POLICY.md).

The block arrives already validated (``connectors.config``); what is checked
here is only what a type cannot say: a gateway source needs ``client_id`` and
a ``PeerTokens`` client, and an sql source's queries must each be one SELECT
(``SqlConnector`` refuses anything else).
"""

from __future__ import annotations

import httpx

from connectors.config import (
    DEFAULT_SOURCE_TIMEOUT_S,
    GatewaySource,
    RestSource,
    SourceConfig,
    SqlSource,
)
from connectors.errors import ConnectorConfigError, UnsupportedSourceError
from connectors.gateway import GatewayConnector, GatewayPeer
from connectors.peer_http import PeerTokens
from connectors.protocol import SourceConnector, TokenProvider
from connectors.rest import RestConnector
from connectors.source_http import SourceHttp
from connectors.sql import SqlConnector


def build_connector(
    source: SourceConfig,
    sources: SourceHttp,
    client: httpx.AsyncClient,
    token_provider: TokenProvider,
    *,
    default_timeout_s: float = DEFAULT_SOURCE_TIMEOUT_S,
    peer_tokens: PeerTokens | None = None,
    source_party: str | None = None,
) -> SourceConnector:
    """The connector for ``source``; ``default_timeout_s`` applies when it sets no timeout.

    ``source_party`` is the covenant party the source belongs to; a rest
    connector names it on its CLIENT spans.

    A rest source is reached over ``sources`` (aiohttp, the hot path), a peer
    gateway over ``client`` (httpx, shared with the peer-token client).

    The gateway passes ``Settings.source_timeout_s`` (``KETENPOORT_SOURCE_TIMEOUT_S``).
    """
    timeout_s = source.timeout_or(default_timeout_s)
    if isinstance(source, RestSource):
        return RestConnector(
            source.base_url,
            sources,
            timeout_s,
            token_provider,
            audience=source.audience,
            source_party=source_party,
        )
    if isinstance(source, SqlSource):
        return SqlConnector(
            source.url,
            source.queries,
            subject_query=source.subject_query,
            deletions_query=source.deletions_query,
            timeout_s=timeout_s,
        )
    if peer_tokens is None:
        raise UnsupportedSourceError("gateway")
    return _gateway(source, client, peer_tokens, timeout_s)


def _gateway(
    source: GatewaySource, client: httpx.AsyncClient, peer_tokens: PeerTokens, timeout_s: float
) -> GatewayConnector:
    if source.client_id is None:
        raise ConnectorConfigError("source: a gateway source needs 'client_id'")
    peer = GatewayPeer(
        base_url=source.base_url,
        jwks_uri=source.jwks_uri,
        client_id=source.client_id,
        convenant=source.convenant,
        purposes=dict(source.purposes or {}),
    )
    return GatewayConnector(peer, client, peer_tokens, timeout_s, client_id=source.client_id)
