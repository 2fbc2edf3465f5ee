"""How a demo source checks the gateway's bearer token (SOURCE-API.md).

A real source would do the same: verify the JWT's signature against the
gateway's published JWKS (`/oauth/jwks`), then `iss`, `aud` and `exp`. Keys are
cached and fetched again when a token names a `kid` we have not seen, which is
how a key rotation at the gateway reaches the source.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

ALLOWED_ALGORITHMS: Final = ("ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256")
_REFETCH_INTERVAL_S: Final = 5.0
_LEEWAY_S: Final = 30


class TokenRejectedError(Exception):
    """The bearer token is missing or invalid; the reason is a fixed short phrase."""


class GatewayTokenVerifier:
    """Verifies bearer tokens signed by the gateway whose JWKS lives at `jwks_url`."""

    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        self._jwks_url = jwks_url
        self._claims = jwt.JWTClaimsRegistry(
            leeway=_LEEWAY_S,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
        )
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def verify(self, authorization: str | None) -> dict[str, Any]:
        if authorization is None or not authorization.startswith("Bearer "):
            raise TokenRejectedError("bearer token required")
        token = authorization.removeprefix("Bearer ").strip()
        keys = await self._key_set(refresh=False)
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=list(ALLOWED_ALGORITHMS))
            except InvalidKeyIdError:
                fresh = await self._key_set(refresh=True)
                decoded = jwt.decode(token, fresh, algorithms=list(ALLOWED_ALGORITHMS))
        except JoseError:
            raise TokenRejectedError("invalid token") from None
        try:
            self._claims.validate(decoded.claims)
        except JoseError:
            raise TokenRejectedError("invalid claims") from None
        return decoded.claims

    async def _key_set(self, *, refresh: bool) -> KeySet:
        async with self._lock:
            stale = time.monotonic() - self._fetched_at > _REFETCH_INTERVAL_S
            if self._keys is None or (refresh and stale):
                try:
                    async with httpx.AsyncClient(timeout=5.0) as client:
                        response = await client.get(self._jwks_url)
                        response.raise_for_status()
                        self._keys = KeySet.import_key_set(response.json())
                except (httpx.HTTPError, ValueError, JoseError):
                    raise TokenRejectedError("gateway keys unavailable") from None
                self._fetched_at = time.monotonic()
            return self._keys
