"""The OAuth 2.0 authorization server (RFC 6749 §4.4 client credentials) on authlib.

authlib ships Flask and Django integrations only; this is the small Starlette
one: the router hands over the parsed form and gets ``(status, body, headers)``
back. Everything here is synchronous (database, file and JWKS look-ups), so the
router runs it in a worker thread.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant

from gateway.auth.assertion import ALLOWED_ALGORITHMS, MAX_ASSERTION_CHARS, PrivateKeyJwtAuth
from gateway.auth.clients import PRIVATE_KEY_JWT, PartyClient, PartyDirectory
from gateway.auth.denials import Denial, DenialAudit, token_denial_reason
from gateway.auth.jwks_fetch import JwksFetcher
from gateway.auth.replay import ReplayStore
from gateway.auth.scope import PurposeScope, parse_scope
from gateway.auth.throttle import FailureThrottle
from gateway.auth.tokens import AccessTokenGenerator
from gateway.keys import KeyStore
from gateway.policy import CompiledPolicy
from gateway.storage.db import Database

log = logging.getLogger("ketenpoort.auth")

TOKEN_PATH = "/oauth/token"  # noqa: S105
JWKS_PATH = "/oauth/jwks"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


@dataclass(frozen=True)
class TokenResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, datalist: Mapping[str, Sequence[str]]) -> None:
        self._datalist = defaultdict(list, {k: list(v) for k, v in datalist.items()})
        self._data = {k: v[0] for k, v in datalist.items() if v}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    """A token request as authlib sees it; ``uri`` is our public token endpoint.

    TLS is decided once, from ``base_url``, at start-up: behind the
    TLS-terminating proxy the URL this process sees is plain HTTP anyway.
    """

    def __init__(self, uri: str, form: Mapping[str, Sequence[str]], headers: Mapping[str, str]):
        super().__init__("POST", uri, headers=dict(headers))
        self.payload = _FormPayload(form)
        self.denial_reason: str | None = None

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return {}


class PurposeBoundClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    """Client credentials where the scope names one covenant and one of its purposes."""

    TOKEN_ENDPOINT_AUTH_METHODS = [PRIVATE_KEY_JWT]  # noqa: RUF012

    def validate_requested_scope(self) -> None:
        bound = parse_scope(self.request.payload.scope)
        self.server.check_binding(self.request.client, bound)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """As authlib's, minus its debug log line that would print the token."""
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class GatewayAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        *,
        issuer: str,
        keys: KeyStore,
        policy: Callable[[], CompiledPolicy],
        db: Database,
        fetcher: JwksFetcher | None = None,
        throttle: FailureThrottle | None = None,
        denials: DenialAudit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.issuer = issuer
        self.token_endpoint = issuer + TOKEN_PATH
        self._policy = policy
        self._clock = clock
        self.fetcher = fetcher or JwksFetcher()
        self.throttle = throttle or FailureThrottle()
        self.directory = PartyDirectory(policy, self.fetcher)
        self.denials = denials
        self._assertion_auth = PrivateKeyJwtAuth(
            self.directory, ReplayStore(db), [self.token_endpoint, issuer], clock=clock
        )
        self.register_client_auth_method(PRIVATE_KEY_JWT, self._assertion_auth)
        self.register_grant(PurposeBoundClientCredentials)
        self.register_token_generator("default", AccessTokenGenerator(keys, issuer))

    def query_client(self, client_id: str) -> PartyClient | None:
        return self.directory.find(client_id)

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        """Access tokens are self-contained JWTs: nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal bus; hooks are not used."""

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: Sequence[tuple[str, str]]
    ) -> TokenResponse:
        return TokenResponse(status, dict(body), dict(headers))

    def today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    def check_binding(self, client: PartyClient, bound: PurposeScope) -> None:
        """The party is in the covenant, the covenant is active today, the purpose exists."""
        covenant = self._policy().covenant(bound.covenant)
        if covenant is None:
            raise InvalidScopeError("unknown convenant")
        if covenant.party(client.party_id) is None:
            raise InvalidClientError(description="the client is not a party of this convenant")
        if not covenant.is_active(self.today()):
            raise InvalidClientError(description="the convenant is not active")
        if covenant.purpose(bound.purpose) is None:
            raise InvalidScopeError("the convenant defines no such purpose")

    def handle_error_response(self, request: TokenRequest | None, error: Any) -> TokenResponse:
        """As authlib's; remembers a fixed reason code on the request for the audit entry."""
        if request is not None:
            request.denial_reason = token_denial_reason(
                str(error.error), getattr(error, "description", None)
            )
        response: TokenResponse = self.handle_response(*error(self.get_error_uri(request, error)))
        return response

    def token_response(
        self, form: Mapping[str, Sequence[str]], headers: Mapping[str, str], remote: str
    ) -> TokenResponse:
        """Answer one POST to the token endpoint, throttling junk per real client address.

        ``remote`` is the real client address (trusted proxies resolved). Over
        budget, only an assertion signed by a key its claimed party registered
        gets past the 429: someone else's junk never locks a partner out.
        """
        claimed = _claimed_client(form)
        party = claimed if self.directory.find(claimed) is not None else "-"
        wait = self.throttle.retry_after(remote)
        if wait is not None and not self._proves_key(form):
            log.warning("token request throttled (claimed client %s)", party)
            self._deny(party, "throttled")
            return TokenResponse(
                429,
                {"error": "invalid_client", "error_description": "too many failed attempts"},
                {"Retry-After": str(wait), "Cache-Control": "no-store"},
            )
        repeated = sorted(name for name, values in form.items() if len(values) > 1)
        if repeated:
            error = InvalidRequestError("repeated parameter: " + ", ".join(repeated))
            response: TokenResponse = self.handle_error_response(None, error)
            self._deny(party, "invalid_request")
            return response
        request = TokenRequest(self.token_endpoint, form, headers)
        response = self.create_token_response(request)
        if response.status == 200:
            log.info("access token issued to %s", claimed)
            return response
        if response.body.get("error") == "invalid_client":
            self.throttle.failed(remote)
            log.info("client authentication failed for %s", party)
        reason = request.denial_reason or str(response.body.get("error", "invalid_request"))
        self._deny(party, reason)
        return response

    def _proves_key(self, form: Mapping[str, Sequence[str]]) -> bool:
        assertion = next(iter(form.get("client_assertion", ())), "")
        scope = next(iter(form.get("scope", ())), None)
        return self._assertion_auth.proves_key_possession(assertion, scope)

    def _deny(self, party: str, reason: str) -> None:
        if self.denials is not None:
            self.denials.record_sync(Denial(where="token", party=party, reason=reason))

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        return {
            "issuer": self.issuer,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.issuer + JWKS_PATH,
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": [PRIVATE_KEY_JWT],
            "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
            "service_documentation": self.issuer + "/docs",
        }


def _claimed_client(form: Mapping[str, Sequence[str]]) -> str:
    """The ``sub`` the assertion claims, unverified: only a log and audit label."""
    assertion = next(iter(form.get("client_assertion", ())), "")
    parts = assertion.split(".")
    if len(parts) != 3 or len(assertion) > MAX_ASSERTION_CHARS:
        return "-"
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return "-"
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if isinstance(sub, str) and _SAFE_ID.fullmatch(sub):
        return sub
    return "-"
