"""Partner keys fetched from a jwks_uri on a real loopback server; failed logins throttled."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.auth.jwks_fetch import JwksFetcher, JwksUnavailable
from gateway.runtime import Runtime
from tests.auth.conftest import gateway_settings, token_request
from tests.auth.partners import Partner, write_policy_dir
from tests.reliability.rawserver import Mode, ends_within, gzip_bomb, raw_server
from tests.support.loopback import serve_app


@dataclass
class JwksServer:
    """Serves whatever ``document`` holds and counts how often it was asked."""

    document: dict[str, Any]
    hits: int = 0
    delay_s: float = 0.0
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        async def jwks(_request: Request) -> JSONResponse:
            self.hits += 1
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            return JSONResponse(self.document)

        self.app = Starlette(routes=[Route("/jwks.json", jwks)])


@pytest.fixture
def uri_partner() -> Partner:
    key = ECKey.generate_key("P-256", parameters={"kid": "uri-1"})
    return Partner("woning-t", key, "ES256", ("woningcorporatie",))


@pytest.fixture
def jwks_server(uri_partner: Partner) -> Iterator[tuple[JwksServer, str]]:
    server = JwksServer(uri_partner.public_jwks())
    with serve_app(server.app) as base_url:
        yield server, base_url + "/jwks.json"


def test_party_with_jwks_uri_gets_a_token_and_keys_are_cached(
    migrated_url: str,
    tmp_path: Path,
    partners: dict[str, Partner],
    uri_partner: Partner,
    jwks_server: tuple[JwksServer, str],
) -> None:
    server, uri = jwks_server
    policy_dir = write_policy_dir(tmp_path, partners, jwks_uri_party=(uri_partner, uri))
    runtime = Runtime.build(gateway_settings(migrated_url, tmp_path, policy_dir))
    runtime.keys.ensure()
    try:
        with TestClient(create_app(runtime.settings, runtime)) as client:
            for _ in range(2):
                response = token_request(client, uri_partner.assertion())
                assert response.status_code == 200, response.text
            assert server.hits == 1
            impostor = Partner(
                uri_partner.id,
                ECKey.generate_key("P-256", parameters={"kid": "uri-1"}),
                "ES256",
                uri_partner.roles,
            )
            assert token_request(client, impostor.assertion()).json()["error"] == "invalid_client"
    finally:
        runtime.close()


def test_fetcher_refetches_for_a_new_kid_but_not_too_often(
    jwks_server: tuple[JwksServer, str],
) -> None:
    server, uri = jwks_server
    now = [0.0]
    fetcher = JwksFetcher(ttl_s=300, min_refetch_s=10, clock=lambda: now[0])
    try:
        assert fetcher.get(uri, want_kid="uri-1")["keys"][0]["kid"] == "uri-1"
        rotated = ECKey.generate_key("P-256", parameters={"kid": "uri-2"})
        server.document = {"keys": [rotated.as_dict(private=False)]}
        assert fetcher.get(uri, want_kid="uri-2")["keys"][0]["kid"] == "uri-1"
        assert server.hits == 1
        now[0] = 11.0
        assert fetcher.get(uri, want_kid="uri-2")["keys"][0]["kid"] == "uri-2"
        now[0] = 400.0
        fetcher.get(uri)
        assert server.hits == 3
    finally:
        fetcher.close()


def test_fetcher_times_out_and_fails_closed(jwks_server: tuple[JwksServer, str]) -> None:
    server, uri = jwks_server
    server.delay_s = 1.5
    fetcher = JwksFetcher(timeout_s=0.3)
    try:
        with pytest.raises(JwksUnavailable):
            fetcher.get(uri)
    finally:
        fetcher.close()


def test_fetcher_refuses_what_is_not_a_jwks(jwks_server: tuple[JwksServer, str]) -> None:
    server, uri = jwks_server
    server.document = {"kid": "not-a-set"}
    fetcher = JwksFetcher()
    try:
        with pytest.raises(JwksUnavailable):
            fetcher.get(uri)
    finally:
        fetcher.close()


def test_failed_client_authentications_are_throttled(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    """Failures are counted per client address; over budget, junk gets 429 but a
    correctly signed assertion still gets its token (docs/auth.md, throttling)."""
    politie = partners["politie-t"]
    for _ in range(5):
        bad = token_request(client, politie.assertion(aud="https://wrong.test"))
        assert bad.json()["error"] == "invalid_client"
    junk = token_request(client, "e30.e30.e30")
    assert junk.status_code == 429
    assert int(junk.headers["retry-after"]) >= 1
    assert junk.json()["error"] == "invalid_client"
    assert token_request(client, politie.assertion()).status_code == 200
    assert token_request(client, partners["ggz-t"].assertion()).status_code == 200


def test_success_resets_the_failure_count(client: TestClient, partners: dict[str, Partner]) -> None:
    politie = partners["politie-t"]
    for _ in range(3):
        token_request(client, politie.assertion(aud="https://wrong.test"))
    assert token_request(client, politie.assertion()).status_code == 200
    for _ in range(4):
        token_request(client, politie.assertion(aud="https://wrong.test"))
    assert token_request(client, politie.assertion()).status_code == 200


@pytest.mark.parametrize("mode", ["drip_head", "drip_body"])
def test_fetcher_bounds_a_dripping_key_server_in_all(mode: Mode) -> None:
    """A byte every 0.1 s never trips a per-read timeout; the fetch's bound is for the whole."""
    fetcher = JwksFetcher(timeout_s=0.5)
    with raw_server(mode) as url:
        outcome = ends_within(lambda: fetcher.get(url + "/jwks"), 10.0)

    assert isinstance(outcome, JwksUnavailable)


def test_fetcher_refuses_a_compressed_key_set_without_inflating_it() -> None:
    gzip_bomb()  # made before measuring: the server runs in this process
    fetcher = JwksFetcher()
    with raw_server("gzip_bomb") as url:
        tracemalloc.start()
        try:
            with pytest.raises(JwksUnavailable):
                fetcher.get(url + "/jwks")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert peak < 8 * 1024 * 1024  # 50 MB if inflated
