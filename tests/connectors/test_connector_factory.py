"""build_connector: from a covenant's `source:` block to a connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import (
    ConnectorConfigError,
    RestConnector,
    SqlConnector,
    UnsupportedSourceError,
    build_connector,
)
from tests.connectors.conftest import GatewaySigner


async def test_rest_source(client: httpx.AsyncClient, signer: GatewaySigner) -> None:
    built = build_connector(
        {"type": "rest", "base_url": "http://127.0.0.1:9101/", "timeout_s": 1.5}, client, signer
    )
    assert isinstance(built, RestConnector)
    assert built.base_url == "http://127.0.0.1:9101"
    assert built.audience == "http://127.0.0.1:9101"


async def test_rest_source_with_own_audience(
    client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    config = {"type": "rest", "base_url": "http://127.0.0.1:9101", "audience": "urn:politie"}
    built = build_connector(config, client, signer)
    assert isinstance(built, RestConnector)
    assert built.audience == "urn:politie"


async def test_sql_source(client: httpx.AsyncClient, signer: GatewaySigner, tmp_path: Path) -> None:
    config = {
        "type": "sql",
        "url": f"sqlite:///{tmp_path / 'p.db'}",
        "queries": {"huisvesting": "SELECT id, updated FROM t WHERE bsn = :bsn"},
    }
    built = build_connector(config, client, signer)
    assert isinstance(built, SqlConnector)
    built.dispose()


async def test_gateway_source_is_unsupported_until_federation(
    client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    with pytest.raises(UnsupportedSourceError) as caught:
        build_connector({"type": "gateway", "base_url": "https://zvh-b"}, client, signer)
    assert caught.value.reason == "unsupported"


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"type": "ftp"},
        {"type": "rest"},
        {"type": "rest", "base_url": "http://x", "timeout_s": 0},
        {"type": "rest", "base_url": "http://x", "timeout_s": True},
        {"type": "sql", "url": "sqlite://", "queries": "SELECT 1"},
        {"type": "sql", "url": "sqlite://", "queries": {"c": "DELETE FROM t WHERE b = :bsn"}},
    ],
)
async def test_bad_configs_are_refused(
    config: dict[str, Any], client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    with pytest.raises(ConnectorConfigError):
        build_connector(config, client, signer)
