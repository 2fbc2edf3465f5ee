"""Tokens the gateway signs: RFC 9068 access tokens for partners, short tokens for sources.

Both are signed with the current ``token`` key and carry its ``kid``, so anyone
holding ``/oauth/jwks`` can verify them, across a rotation too.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.auth.clients import PartyClient
from gateway.auth.scope import parse_scope
from gateway.keys import KeyStore, SigningKey

ACCESS_TOKEN_LIFETIME_S = 600
SOURCE_TOKEN_LIFETIME_S = 60


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """authlib's RFC 9068 generator, bound to our key store and purpose-bound claims."""

    def __init__(self, keys: KeyStore, issuer: str) -> None:
        super().__init__(
            issuer=issuer, alg="ES256", expires_generator=lambda _c, _g: ACCESS_TOKEN_LIFETIME_S
        )
        self._keys = keys

    def get_jwks(self) -> KeySet:
        """The current key alone: joserfc then writes its ``kid`` into the header."""
        current = self._keys.current("token")
        self.alg = current.alg
        return KeySet([current.jwk])

    def get_audiences(self, client: PartyClient, user: object, scope: str) -> str:
        return str(self.issuer)

    def get_jti(self, client: PartyClient, grant_type: str, user: object, scope: str) -> str:
        return secrets.token_urlsafe(24)

    def get_extra_claims(
        self, client: PartyClient, grant_type: str, user: object, scope: str
    ) -> dict[str, Any]:
        bound = parse_scope(scope)
        party = client.membership(bound.covenant)
        roles = list(party.roles) if party is not None else []
        return {
            "party": client.party_id,
            "roles": roles,
            "covenant": bound.covenant,
            "purpose": bound.purpose,
        }


class SourceTokenIssuer:
    """``token_provider`` for connectors: a JWT for one source, valid for a minute at most.

    The source checks it against ``/oauth/jwks`` (SOURCE-API.md). ``typ`` is
    plain ``JWT`` and no party or purpose claims are set, so such a token can
    never pass as a partner access token at our own API.
    """

    def __init__(
        self,
        keys: KeyStore,
        issuer: str,
        *,
        lifetime_s: int = SOURCE_TOKEN_LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < lifetime_s <= SOURCE_TOKEN_LIFETIME_S:
            raise ValueError("a source token lives at most 60 seconds")
        self._keys = keys
        self._issuer = issuer
        self._lifetime_s = lifetime_s
        self._clock = clock
        self._issued: dict[str, tuple[str, int, str]] = {}

    async def __call__(self, audience: str) -> str:
        return self.reuse_or_issue(audience)

    def reuse_or_issue(self, audience: str) -> str:
        """A token for ``audience`` that has most of its minute left, signed by the current key.

        Like any OAuth client reusing its access token until near expiry: a
        signature per source call was a measurable share of a query's time.
        """
        current = self._keys.current("token")
        now = int(self._clock())
        held = self._issued.get(audience)
        if held is not None:
            token, expires, kid = held
            if kid == current.kid and expires - now > self._lifetime_s // 2:
                return token
        token = self._sign(audience, current, now)
        self._issued[audience] = (token, now + self._lifetime_s, current.kid)
        return token

    def issue(self, audience: str) -> str:
        """A freshly signed token (no reuse)."""
        return self._sign(audience, self._keys.current("token"), int(self._clock()))

    def _sign(self, audience: str, current: SigningKey, now: int) -> str:
        claims = {
            "iss": self._issuer,
            "sub": self._issuer,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime_s,
            "jti": secrets.token_urlsafe(18),
        }
        header = {"alg": current.alg, "kid": current.kid, "typ": "JWT"}
        return jwt.encode(header, claims, current.jwk, algorithms=[current.alg])
