"""One connector per source party, built from the covenant and reused.

All REST connectors share one ``SourceHttp`` (aiohttp) so connections to a
source are pooled across queries, and gateway connectors one
``httpx.AsyncClient``; the registry is rebuilt lazily when the policy object
changes (hot reload), because a source's address may change.

The covenant's typed source block goes to ``build_connector`` as it is; a
source whose covenant entry sets no ``timeout_s`` gets ``default_timeout_s``,
which the composition takes from ``KETENPOORT_SOURCE_TIMEOUT_S``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import httpx

from connectors import (
    DEFAULT_SOURCE_TIMEOUT_S,
    PeerTokens,
    SourceConnector,
    SourceHttp,
    SqlConnector,
    TokenProvider,
    build_connector,
)
from gateway.policy.compiled import CompiledPolicy


class ConnectorRegistry:
    def __init__(
        self,
        sources: SourceHttp,
        client: httpx.AsyncClient,
        token_provider: TokenProvider,
        *,
        peer_tokens: PeerTokens | None = None,
        default_timeout_s: float = DEFAULT_SOURCE_TIMEOUT_S,
    ) -> None:
        self._sources = sources
        self._client = client
        self._default_timeout_s = default_timeout_s
        self._token_provider = token_provider
        self._peer_tokens = peer_tokens
        self._lock = threading.Lock()
        self._policy: CompiledPolicy | None = None
        self._connectors: dict[tuple[str, str], SourceConnector] = {}

    def get(
        self, policy: CompiledPolicy, covenant_id: str, party_id: str
    ) -> SourceConnector | None:
        """The connector for a party's source, or None if it has no source configured."""
        with self._lock:
            if policy is not self._policy:
                self._policy = policy
                self._dispose(self._connectors.values())
                self._connectors = {}
            key = (covenant_id, party_id)
            connector = self._connectors.get(key)
            if connector is not None:
                return connector
            party = policy.party(covenant_id, party_id)
            if party is None or party.source is None:
                return None
            connector = build_connector(
                party.source,
                self._sources,
                self._client,
                self._token_provider,
                default_timeout_s=self._default_timeout_s,
                peer_tokens=self._peer_tokens,
                source_party=party_id,
            )
            self._connectors[key] = connector
            return connector

    def consent_is_remote(self, policy: CompiledPolicy, covenant_id: str, party_id: str) -> bool:
        """A peer gateway's OvJ decides on criminal data held behind it (federation)."""
        party = policy.party(covenant_id, party_id)
        return party is not None and party.source is not None and party.source.type == "gateway"

    def timeout_s(
        self,
        policy: CompiledPolicy,
        covenant_id: str,
        party_id: str,
        default: float | None = None,
    ) -> float:
        """The bound a caller puts around a source: its covenant timeout, else the default.

        The default is the registry's own (the one its connectors got) unless
        the caller names one; callers pass the same ``KETENPOORT_SOURCE_TIMEOUT_S``.
        """
        fallback = self._default_timeout_s if default is None else default
        party = policy.party(covenant_id, party_id)
        if party is None or party.source is None:
            return fallback
        return party.source.timeout_or(fallback)

    @staticmethod
    def _dispose(connectors: Iterable[SourceConnector]) -> None:
        """Close database pools of connectors the reloaded policy no longer uses."""
        for connector in connectors:
            if isinstance(connector, SqlConnector):
                connector.dispose()
