"""RFC 7523 ``private_key_jwt`` client authentication, made strict.

authlib's ``JWTBearerClientAssertion`` gives the flow; on top of it we pin the
algorithms (ES256, EdDSA or its RFC 9864 name Ed25519, PS256: never ``none``,
never HMAC), cap the size and the lifetime of an assertion, refuse ``iat`` in
the future, require ``iss`` = ``sub`` = the party id and remember every ``jti``
in the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from gateway.auth.clients import PRIVATE_KEY_JWT, PartyClient, PartyDirectory
from gateway.auth.replay import ReplayStore
from gateway.auth.scope import try_parse_scope

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALLOWED_ALGORITHMS = ("ES256", "EdDSA", "Ed25519", "PS256")
MAX_ASSERTION_CHARS = 4096
MAX_ASSERTION_LIFETIME_S = 300
CLOCK_SKEW_S = 30
MAX_JTI_CHARS = 200

_KEY_FITS: dict[str, Callable[[Key], bool]] = {
    "ES256": lambda key: isinstance(key, ECKey) and key.curve_name == "P-256",
    "EdDSA": lambda key: isinstance(key, OKPKey) and key.curve_name == "Ed25519",
    "Ed25519": lambda key: isinstance(key, OKPKey) and key.curve_name == "Ed25519",
    "PS256": lambda key: isinstance(key, RSAKey),
}


class PrivateKeyJwtAuth(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(
        self,
        directory: PartyDirectory,
        replay: ReplayStore,
        audiences: list[str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(validate_jti=True, leeway=CLOCK_SKEW_S)
        self._directory = directory
        self._replay = replay
        self._audiences = audiences
        self._clock = clock

    def __call__(self, query_client: Callable[[str], Any], request: Any) -> PartyClient | None:
        form = request.form
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return None
        assertion = form.get("client_assertion") or ""
        if not assertion:
            return None
        if len(assertion) > MAX_ASSERTION_CHARS:
            raise InvalidClientError(description="client assertion too large")
        headers, claims = self.extract_assertion(assertion)
        algorithm = headers.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise InvalidClientError(
                description="assertion algorithm not allowed; use " + ", ".join(ALLOWED_ALGORITHMS)
            )
        client_id = claims.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidClientError(description="assertion lacks 'sub'")
        sent_id = form.get("client_id")
        if sent_id is not None and sent_id != client_id:
            raise InvalidClientError(description="'client_id' contradicts the assertion")
        client = query_client(client_id)
        if client is None:
            raise InvalidClientError(description="unknown client")
        scope = try_parse_scope(request.payload.scope)
        kid = headers.get("kid") if isinstance(headers.get("kid"), str) else None
        keys = self._directory.public_keys(client, scope.covenant if scope else None, kid)
        key = _select_key(keys, algorithm, kid)
        request.client = client
        self._verify(assertion, key, algorithm)
        return self.authenticate_client(client)  # type: ignore[no-any-return]

    def proves_key_possession(self, assertion: str, scope: str | None) -> bool:
        """Does the assertion carry a signature by a key its claimed party registered?

        Only the signature: claims, replay and binding are the full flow's job.
        The throttle uses this to let a partner through while strangers flood
        the endpoint with junk under the partner's id. No database write, so a
        throttled flood costs one signature check each. The ``kid`` is passed
        on, so a partner that rotated its key during a flood is not refused
        until the cache expires; the fetcher bounds the refetches (at most one
        per ``min_refetch_s`` per URI, failures remembered, one at a time).
        """
        if not assertion or len(assertion) > MAX_ASSERTION_CHARS:
            return False
        try:
            headers, claims = self.extract_assertion(assertion)
            algorithm = headers.get("alg")
            sub = claims.get("sub")
            if algorithm not in ALLOWED_ALGORITHMS or not isinstance(sub, str):
                return False
            client = self._directory.find(sub)
            if client is None:
                return False
            bound = try_parse_scope(scope)
            kid = headers.get("kid") if isinstance(headers.get("kid"), str) else None
            keys = self._directory.public_keys(client, bound.covenant if bound else None, kid)
            key = _select_key(keys, algorithm, kid)
            jwt.decode(assertion, key, algorithms=[algorithm])
        except (InvalidClientError, JoseError, ValueError, TypeError):
            return False
        return True

    def get_audiences(self) -> list[str]:
        return self._audiences

    def _verify(self, assertion: str, key: Key, algorithm: str) -> None:
        try:
            token = jwt.decode(assertion, key, algorithms=[algorithm])
        except JoseError:
            raise InvalidClientError(description="assertion signature invalid") from None
        self.verify_claims(token.claims)

    def verify_claims(self, claims: dict[str, Any]) -> None:
        now = int(self._clock())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=CLOCK_SKEW_S,
            iss={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "values": self._audiences},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            reason = f"assertion rejected: {error.description}"
            raise InvalidClientError(description=reason) from None
        if claims["iss"] != claims["sub"]:
            raise InvalidClientError(description="assertion 'iss' and 'sub' must both be the party")
        if claims["exp"] > now + MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S:
            raise InvalidClientError(description="assertion 'exp' is more than 5 minutes ahead")
        issued = claims.get("iat")
        if issued is not None and (not isinstance(issued, int) or issued > now + CLOCK_SKEW_S):
            raise InvalidClientError(description="assertion 'iat' is in the future")
        jti = claims["jti"]
        if not jti or len(jti) > MAX_JTI_CHARS:
            raise InvalidClientError(description="assertion 'jti' empty or too long")
        if not self.validate_jti(claims, jti):
            raise InvalidClientError(description="assertion 'jti' was used before")

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        return self._replay.first_use(str(claims["iss"]), jti, expires)


def _select_key(keys: list[Key], algorithm: str, kid: str | None) -> Key:
    """The one registered key that can have made this signature, or ``invalid_client``."""
    fits = _KEY_FITS[algorithm]
    candidates = [key for key in keys if fits(key) and (kid is None or key.kid == kid)]
    if not candidates:
        raise InvalidClientError(description="no registered key of the client matches")
    if len(candidates) > 1 and kid is None:
        raise InvalidClientError(description="several keys fit; the assertion needs a 'kid'")
    return candidates[0]
