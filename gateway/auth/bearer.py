"""Resource side: is this bearer token one of our partner access tokens?

The token must be ours (signature by a published ``token`` key, ``iss``), meant for
us (``aud``), current (``exp``), an RFC 9068 access token (``typ: at+jwt``, so
an ID token or a source token signed by the same key is refused) and bound to
one covenant and purpose.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from gateway.keys import ALGORITHMS, KeyStore

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
CLOCK_SKEW_S = 30
MAX_TOKEN_CHARS = 8192
_STRING_CLAIMS = ("sub", "client_id", "party", "covenant", "purpose", "jti")
CACHED_TOKENS = 4096
"""Verified tokens remembered per process; the oldest is dropped beyond this."""


class InvalidToken(Exception):
    """The bearer token is not acceptable; ``reason`` is a fixed phrase, safe to return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccessTokenVerifier:
    def __init__(
        self, keys: KeyStore, issuer: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        # sha256(token) -> (claims, exp, the key set that verified it)
        self._verified: OrderedDict[bytes, tuple[dict[str, Any], float, object]] = OrderedDict()

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or :class:`InvalidToken`.

        A token verified before is answered from memory until its ``exp`` (not
        ``exp`` plus the clock-skew leeway: the cache only ever shortens a
        token's life) and only while the published key set is the one that
        verified it: a retired key's grace ending re-verifies at once, and a
        rotation or a key taken out of the manifest as soon as the key store
        sees it (at once for its own, within ``MANIFEST_RECHECK_S`` for another
        process's), so a token whose key is withdrawn fails as before. Only tokens
        that passed every check are kept; a refusal is never cached.
        """
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed token")
        keyset = self._keys.verification_keys("token")
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            hit = self._verified.get(digest)
        if hit is not None:
            claims, exp, verified_by = hit
            if verified_by is keyset and self._clock() < exp:
                return dict(claims)
            with self._lock:
                self._verified.pop(digest, None)
        claims = self._verify(token, keyset)
        with self._lock:
            self._verified[digest] = (dict(claims), float(claims["exp"]), keyset)
            while len(self._verified) > CACHED_TOKENS:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str, keyset: Any) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, keyset, algorithms=[ALGORITHMS["token"]])
        except (JoseError, ValueError):
            raise InvalidToken("token signature or format invalid") from None
        if decoded.header.get("typ") not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("not an access token (typ must be at+jwt)")
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=CLOCK_SKEW_S,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._issuer},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as error:
            raise InvalidToken(f"token rejected: {error.description}") from None
        claims = decoded.claims
        if not all(isinstance(claims.get(name), str) and claims[name] for name in _STRING_CLAIMS):
            raise InvalidToken("token lacks party, covenant or purpose")
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise InvalidToken("token lacks roles")
        if not isinstance(claims.get("exp"), int | float):
            raise InvalidToken("token lacks exp")
        return claims
