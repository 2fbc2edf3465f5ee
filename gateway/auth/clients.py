"""OAuth clients are the covenant parties: no registration table, the covenant is the register.

A party may appear in several covenants, each entry with its own trust store
(``jwks`` inline, ``jwks_file`` or ``jwks_uri``). When the requested scope names
one covenant only that covenant's keys can authenticate the party, so a key a
party registered in one covenant never opens another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from gateway.auth.jwks_fetch import JwksFetcher, JwksUnavailable
from gateway.policy import CompiledPolicy, Party, TrustStoreError

log = logging.getLogger("ketenpoort.auth")

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_CREDENTIALS = "client_credentials"
_PUBLIC_KEY_TYPES: dict[str, type[ECKey] | type[OKPKey] | type[RSAKey]] = {
    "EC": ECKey,
    "OKP": OKPKey,
    "RSA": RSAKey,
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


@dataclass(frozen=True)
class PartyClient(ClientMixin):  # type: ignore[misc]
    """A party as authlib's client; ``entries`` are its (covenant id, party) memberships."""

    party_id: str
    entries: tuple[tuple[str, Party], ...]

    def get_client_id(self) -> str:
        return self.party_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == PRIVATE_KEY_JWT and endpoint == "token"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == CLIENT_CREDENTIALS

    def membership(self, covenant_id: str) -> Party | None:
        return next((party for cov, party in self.entries if cov == covenant_id), None)


class PartyDirectory:
    """Finds parties in the policy in force and their public keys."""

    def __init__(self, policy: Callable[[], CompiledPolicy], fetcher: JwksFetcher) -> None:
        self._policy = policy
        self._fetcher = fetcher

    def find(self, party_id: str) -> PartyClient | None:
        entries = tuple(
            (compiled.covenant.id, party)
            for compiled in self._policy().covenants.values()
            for party in compiled.covenant.parties
            if party.id == party_id
        )
        return PartyClient(party_id, entries) if entries else None

    def public_keys(
        self, client: PartyClient, covenant_id: str | None, kid: str | None
    ) -> list[Key]:
        """The keys that may sign this client's assertion (only public, never symmetric)."""
        party = client.membership(covenant_id) if covenant_id else None
        parties = [party] if party is not None else [p for _, p in client.entries]
        keys: list[Key] = []
        for member in parties:
            for jwk in self._jwks(member, kid)["keys"]:
                key = _public_key(jwk)
                if key is not None:
                    keys.append(key)
        return keys

    def _jwks(self, party: Party, kid: str | None) -> dict[str, Any]:
        try:
            document = party.jwks_document()
            if document is None and party.jwks_uri:
                document = self._fetcher.get(party.jwks_uri, want_kid=kid)
        except (TrustStoreError, JwksUnavailable) as error:
            log.warning("keys of party %s unavailable (%s)", party.id, type(error).__name__)
            raise InvalidClientError(description="the client's keys are unavailable") from None
        return document if document is not None else {"keys": []}


def _public_key(jwk: Any) -> Key | None:
    """A JWK as a public key, or ``None`` for anything we must not verify with.

    Symmetric (``oct``) keys are dropped: accepting one would let a party that
    knows the bytes forge assertions with HMAC (the key confusion attack).
    """
    if not isinstance(jwk, dict):
        return None
    key_type = _PUBLIC_KEY_TYPES.get(str(jwk.get("kty")))
    if key_type is None:
        return None
    public = {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
    try:
        return key_type.import_key(public)
    except (JoseError, ValueError, TypeError):
        return None
