"""One connector per source party, built from the covenant and reused.

All REST connectors share one ``httpx.AsyncClient`` so connections to a
source are pooled across queries; the registry is rebuilt lazily when the
policy object changes (hot reload), because a source's address may change.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from connectors import SourceConnector, TokenProvider, build_connector
from gateway.policy.compiled import CompiledPolicy


class ConnectorRegistry:
    def __init__(self, client: httpx.AsyncClient, token_provider: TokenProvider) -> None:
        self._client = client
        self._token_provider = token_provider
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
                self._connectors = {}
            key = (covenant_id, party_id)
            connector = self._connectors.get(key)
            if connector is not None:
                return connector
            party = policy.party(covenant_id, party_id)
            if party is None or party.source is None:
                return None
            config: dict[str, Any] = party.source.model_dump(mode="json")
            connector = build_connector(config, self._client, self._token_provider)
            self._connectors[key] = connector
            return connector

    def timeout_s(
        self, policy: CompiledPolicy, covenant_id: str, party_id: str, default: float
    ) -> float:
        party = policy.party(covenant_id, party_id)
        if party is None or party.source is None:
            return default
        return float(party.source.timeout_s)
