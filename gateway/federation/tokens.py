"""Access tokens from peer gateways: RFC 7523 private_key_jwt as our party there, cached.

We sign the client assertion with our current ``token`` key, whose public half
is already published at our ``/oauth/jwks``: the peer's covenant lists us with
``jwks_uri: <us>/oauth/jwks``, so a key rotation here reaches the peer without
anyone copying keys. The assertion cannot pass for one of our own tokens
(``iss`` = ``sub`` = a party id, never our issuer URL; ``aud`` = the peer's token
endpoint), and our access and source tokens cannot pass for an assertion there.

Fetching a token is idempotent (a fresh ``jti`` each try), so transport errors
and 429/5xx are retried with exponential backoff inside the caller's budget.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx
from joserfc import jwt

from connectors import PeerDenied, PeerDown, PeerScope
from connectors.peer_http import Budget
from gateway.auth.assertion import ASSERTION_TYPE
from gateway.keys import KeyStore, KeyStoreError
from gateway.outbound import OutboundRefused, bounded_exchange

ASSERTION_LIFETIME_S: Final = 60
REFRESH_MARGIN_S: Final = 30.0
RETRY_ATTEMPTS: Final = 3
MAX_TOKEN_ANSWER_BYTES: Final = 64 * 1024
_REFUSALS: Final = frozenset({"invalid_client", "invalid_scope", "unauthorized_client"})


@dataclass(frozen=True, slots=True)
class _Cached:
    token: str
    refresh_at: float


class PeerTokenClient:
    """Implements ``connectors.PeerTokens`` for every peer of this gateway."""

    def __init__(
        self,
        keys: KeyStore,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._client = client
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[PeerScope, _Cached] = {}

    async def access_token(self, scope: PeerScope, *, timeout_s: float) -> str:
        cached = self._cache.get(scope)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token
        budget = Budget(timeout_s)
        attempt = 0
        while True:
            try:
                token, lifetime = await self._fetch(scope, budget)
                break
            except _Transient as failure:
                if attempt + 1 >= RETRY_ATTEMPTS or not await budget.pause(attempt):
                    raise PeerDown(failure.reason) from None
                attempt += 1
        refresh_at = self._clock() + max(0.0, lifetime - REFRESH_MARGIN_S)
        self._cache[scope] = _Cached(token, refresh_at)
        return token

    def forget(self, scope: PeerScope) -> None:
        self._cache.pop(scope, None)

    def assertion(self, scope: PeerScope) -> str:
        """The RFC 7523 client assertion: we are ``scope.client_id`` at that peer."""
        try:
            key = self._keys.current("token")
        except KeyStoreError:
            raise PeerDown("peer_no_key") from None
        now = int(self._wall_clock())
        claims = {
            "iss": scope.client_id,
            "sub": scope.client_id,
            "aud": scope.base_url + "/oauth/token",
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
            "jti": secrets.token_urlsafe(24),
        }
        header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key.jwk, algorithms=[key.alg])

    async def _fetch(self, scope: PeerScope, budget: Budget) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "scope": f"convenant:{scope.convenant} purpose:{scope.purpose}",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(scope),
        }
        timeout = budget.left()
        if timeout <= 0:
            raise PeerDown("peer_timeout")
        try:
            answer = await bounded_exchange(
                self._client,
                "POST",
                scope.base_url + "/oauth/token",
                data=form,
                headers={"Accept": "application/json"},
                timeout_s=timeout,
                max_bytes=MAX_TOKEN_ANSWER_BYTES,
            )
        except OutboundRefused as refused:
            raise _refused(refused) from None
        if answer.status in (429, 502, 503, 504):
            raise _Transient("peer_unavailable")
        body = _json(answer.body)
        if answer.status != 200:
            if body.get("error") in _REFUSALS:
                raise PeerDenied("peer_token_refused")
            raise PeerDown("peer_bad_status")
        token = body.get("access_token")
        lifetime = body.get("expires_in", 60)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise PeerDown("peer_malformed")
        return token, float(lifetime)


class _Transient(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refused(refused: OutboundRefused) -> Exception:
    """A token exchange cut short: too large or compressed is the peer's fault, the rest may pass.

    The answer is read raw up to the bound, never inflated first: a gzip bomb
    of a few hundred kilobytes once took ~300 MB and stalled the loop (review).
    """
    if refused.reason == "too_large":
        return PeerDown("peer_too_large")
    if refused.reason == "encoded":
        return PeerDown("peer_malformed")
    if refused.reason == "timeout":
        return _Transient("peer_timeout")
    return _Transient("peer_unreachable")


def _json(content: bytes) -> dict[str, object]:
    try:
        body = json.loads(content)
    except ValueError:
        raise PeerDown("peer_malformed") from None
    if not isinstance(body, dict):
        raise PeerDown("peer_malformed")
    return body
