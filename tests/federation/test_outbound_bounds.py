"""Exchanges with a peer's token endpoint and an OvJ's webhook are bounded in all (review).

A peer's token answer was inflated whole from gzip before its 64 KiB bound was
checked (~300 MB for a few hundred kB); a webhook receiver that dripped its
answer held the delivery thread for as long as it liked, so threads piled up.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

import httpx
import pytest

from connectors import PeerDown, PeerScope
from connectors.peer_http import Budget, call_peer
from gateway.consent.webhook import ConsentWebhooks
from gateway.federation.tokens import PeerTokenClient
from gateway.keys import KeyStore
from gateway.outbound import cookieless_jar
from gateway.policy.models import ConsentWebhook
from tests.consent.support import notice as consent_notice
from tests.reliability.rawserver import Mode, ends_within, gzip_bomb, raw_server

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    return store


def test_a_compressed_peer_token_answer_is_refused_before_it_is_inflated(keys: KeyStore) -> None:
    gzip_bomb()  # made before measuring: the server runs in this process

    async def ask(base_url: str) -> str:
        async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
            tokens = PeerTokenClient(keys, client)
            scope = PeerScope(base_url, "gateway-a", "zvh-demo", "pga-casusoverleg")
            return await tokens.access_token(scope, timeout_s=5.0)

    with raw_server("gzip_bomb") as url:
        tracemalloc.start()
        try:
            with pytest.raises(PeerDown) as caught:
                asyncio.run(ask(url))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert peak < 8 * 1024 * 1024  # 50 MB if inflated
    assert caught.value.reason == "peer_malformed"


@pytest.mark.parametrize("mode", ["drip_head", "drip_body"])
def test_a_dripping_webhook_receiver_is_abandoned_at_the_hooks_timeout(
    keys: KeyStore, mode: Mode
) -> None:
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: None, dev_mode=True)  # type: ignore[arg-type,return-value]
    notice = consent_notice("test")
    with raw_server(mode) as url:
        hook = ConsentWebhook(url=url + "/hook", timeout_s=0.5, max_attempts=1)
        ends_within(lambda: webhooks._attempt(hook, notice), 10.0)
        assert webhooks._attempt(hook, notice) == ("done" if mode == "drip_body" else "retry")

    # The head of a dripping body says 200, and only the status counts; a dripping head
    # never completes and is given up on at the bound, to be tried again later.


def test_a_compressed_peer_answer_is_refused_before_it_is_inflated() -> None:
    """A peer (another Ketenpoort) never compresses; gzip was inflated a chunk at a time."""
    gzip_bomb()  # made before measuring: the server runs in this process

    async def ask(url: str) -> bytes:
        async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
            return await call_peer(client, "GET", url, None, {}, Budget(5.0), retry=False)

    with raw_server("gzip_bomb") as url:
        tracemalloc.start()
        try:
            with pytest.raises(PeerDown) as caught:
                asyncio.run(ask(url + "/v1/peer/known"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert peak < 8 * 1024 * 1024  # ~50 MB if inflated
    assert caught.value.reason == "peer_malformed"
