"""build_connector: from a covenant's typed `source:` block to a connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from connectors import (
    DEFAULT_SOURCE_TIMEOUT_S,
    ConnectorConfigError,
    GatewaySource,
    RestConnector,
    RestSource,
    SourceConfig,
    SourceHttp,
    SqlConnector,
    SqlSource,
    UnsupportedSourceError,
    build_connector,
)
from tests.connectors.conftest import GatewaySigner


async def test_rest_source(
    sources: SourceHttp, client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    source = RestSource(type="rest", base_url="http://127.0.0.1:9101/", timeout_s=1.5)
    built = build_connector(source, sources, client, signer, default_timeout_s=7.0)
    assert isinstance(built, RestConnector)
    assert built.timeout_s == 1.5
    assert built.base_url == "http://127.0.0.1:9101"
    assert built.audience == "http://127.0.0.1:9101"


async def test_rest_source_with_own_audience(
    sources: SourceHttp, client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    source = RestSource(type="rest", base_url="http://127.0.0.1:9101", audience="urn:politie")
    built = build_connector(source, sources, client, signer)
    assert isinstance(built, RestConnector)
    assert built.audience == "urn:politie"


async def test_sql_source(
    sources: SourceHttp, client: httpx.AsyncClient, signer: GatewaySigner, tmp_path: Path
) -> None:
    source = SqlSource(
        type="sql",
        url=f"sqlite:///{tmp_path / 'p.db'}",
        queries={"huisvesting": "SELECT id, updated FROM t WHERE bsn = :bsn"},
    )
    built = build_connector(source, sources, client, signer)
    assert isinstance(built, SqlConnector)
    built.dispose()


async def test_gateway_source_is_unsupported_until_federation(
    sources: SourceHttp, client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    with pytest.raises(UnsupportedSourceError) as caught:
        build_connector(
            GatewaySource(type="gateway", base_url="https://zvh-b"), sources, client, signer
        )
    assert caught.value.reason == "unsupported"


async def test_a_source_without_timeout_gets_the_default_it_is_given(
    sources: SourceHttp, client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    source = RestSource(type="rest", base_url="http://127.0.0.1:9101")
    assert source.timeout_s is None
    given = build_connector(source, sources, client, signer, default_timeout_s=0.7)
    assert isinstance(given, RestConnector) and given.timeout_s == 0.7
    unset = build_connector(source, sources, client, signer)
    assert isinstance(unset, RestConnector) and unset.timeout_s == DEFAULT_SOURCE_TIMEOUT_S


_SOURCE_CONFIG: TypeAdapter[SourceConfig] = TypeAdapter(SourceConfig)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"type": "ftp"},
        {"type": "rest"},
        {"type": "rest", "base_url": ""},
        {"type": "rest", "base_url": "http://x", "timeout_s": 0},
        {"type": "rest", "base_url": "http://x", "timeout_s": 61},
        {"type": "rest", "base_url": "http://x", "timeout_s": True},
        {"type": "rest", "base_url": "http://x", "timeout_s": "2"},
        {"type": "sql", "url": "sqlite://", "queries": "SELECT 1"},
        {"type": "sql", "url": "sqlite://", "queries": {}},
    ],
)
def test_bad_configs_are_refused_by_the_type(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _SOURCE_CONFIG.validate_python(config)


async def test_a_sql_source_must_only_read(
    sources: SourceHttp, client: httpx.AsyncClient, signer: GatewaySigner
) -> None:
    source = SqlSource(type="sql", url="sqlite://", queries={"c": "DELETE FROM t WHERE b = :bsn"})
    with pytest.raises(ConnectorConfigError):
        build_connector(source, sources, client, signer)
