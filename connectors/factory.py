"""Builds a connector from a covenant party's `source:` block (POLICY.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.errors import ConnectorConfigError, UnsupportedSourceError
from connectors.gateway import GatewayConnector, GatewayPeer
from connectors.peer_http import PeerTokens
from connectors.protocol import SourceConnector, TokenProvider
from connectors.rest import RestConnector
from connectors.sql import SqlConnector

DEFAULT_TIMEOUT_S = 2.0


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value:
        raise ConnectorConfigError(f"source: {key!r} must be a non-empty string")
    return value


def _optional_text(config: Mapping[str, Any], key: str) -> str | None:
    return _text(config, key) if config.get(key) is not None else None


def _timeout(config: Mapping[str, Any]) -> float:
    value = config.get("timeout_s", DEFAULT_TIMEOUT_S)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConnectorConfigError("source: 'timeout_s' must be a positive number")
    return float(value)


def build_connector(
    source_config: Mapping[str, Any],
    client: httpx.AsyncClient,
    token_provider: TokenProvider,
    *,
    peer_tokens: PeerTokens | None = None,
) -> SourceConnector:
    """`type: rest` needs base_url; `type: sql` needs url and queries {category: SELECT};
    `type: gateway` needs base_url and client_id, and ``peer_tokens`` to log in there."""
    source_type = source_config.get("type")
    if source_type == "rest":
        return RestConnector(
            _text(source_config, "base_url"),
            client,
            _timeout(source_config),
            token_provider,
            audience=_optional_text(source_config, "audience"),
        )
    if source_type == "sql":
        queries = source_config.get("queries")
        if not isinstance(queries, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in queries.items()
        ):
            raise ConnectorConfigError("source: 'queries' must map category ids to SELECTs")
        return SqlConnector(
            _text(source_config, "url"),
            queries,
            subject_query=_optional_text(source_config, "subject_query"),
            deletions_query=_optional_text(source_config, "deletions_query"),
            timeout_s=_timeout(source_config),
        )
    if source_type == "gateway":
        if peer_tokens is None:
            raise UnsupportedSourceError("gateway")
        return _gateway(source_config, client, peer_tokens)
    raise ConnectorConfigError("source: 'type' must be rest, sql or gateway")


def _gateway(
    config: Mapping[str, Any], client: httpx.AsyncClient, peer_tokens: PeerTokens
) -> GatewayConnector:
    purposes = config.get("purposes") or {}
    if not isinstance(purposes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in purposes.items()
    ):
        raise ConnectorConfigError("source: 'purposes' must map our purpose ids to the peer's")
    peer = GatewayPeer(
        base_url=_text(config, "base_url"),
        jwks_uri=_optional_text(config, "jwks_uri"),
        client_id=_text(config, "client_id"),
        convenant=_optional_text(config, "convenant"),
        purposes=dict(purposes),
    )
    return GatewayConnector(
        peer, client, peer_tokens, _timeout(config), client_id=_text(config, "client_id")
    )
