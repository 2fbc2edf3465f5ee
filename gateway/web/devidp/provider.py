"""Routes of the development OpenID provider (discovery, JWKS, authorize, token).

Codes live in this process's memory for 60 seconds and are single use: the dev
IdP serves one developer on one embedded gateway, never a cluster.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt

from gateway.web.devidp.keys import ALG, DevIdpKeys
from gateway.web.devidp.users import DemoUser, dev_users
from gateway.web.session import verify_csrf
from gateway.web.templating import render
from gateway.wiring import runtime_of

PREFIX = "/dev-idp"
CODE_TTL_S = 60
ID_TOKEN_TTL_S = 300
AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    user: DemoUser
    expires_at: float


class _CodeStore:
    def __init__(self) -> None:
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def issue(self, grant: _Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._codes = {k: g for k, g in self._codes.items() if g.expires_at > now}
            self._codes[code] = grant
        return code

    def redeem(self, code: str) -> _Grant | None:
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at < time.time():
            return None
        return grant


@dataclass(frozen=True)
class DevClient:
    """The one client the dev IdP knows: the gateway's own web login."""

    client_id: str
    client_secret: str
    redirect_uri: str


def _token_error(error: str, status_code: int = 400) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    return JSONResponse({"error": error}, status_code=status_code, headers=headers)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _half_hash(value: str) -> str:
    """``at_hash`` for ES256 (OIDC Core §3.1.3.6): left half of SHA-256, base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def _client_credentials(request: Request, form: Mapping[str, Any]) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret) if sep else None
    posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
    if isinstance(posted_id, str) and isinstance(posted_secret, str):
        return posted_id, posted_secret
    return None


def build_router(
    issuer: str, dev_client: Callable[[], DevClient], dev_keys: Callable[[], DevIdpKeys]
) -> APIRouter:
    """The dev IdP's routes; ``issuer`` is ``<base_url>/dev-idp``; secrets load on first use."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    codes = _CodeStore()

    def check_authorize(params: Mapping[str, str]) -> str | None:
        """A Dutch reason the request is refused (shown, never redirected), or None."""
        client = dev_client()
        if params.get("client_id") != client.client_id:
            return "Onbekende client."
        if params.get("redirect_uri") != client.redirect_uri:
            return "Deze redirect_uri is niet geregistreerd."
        if params.get("response_type") != "code":
            return "Alleen de authorization code flow wordt ondersteund."
        if "openid" not in params.get("scope", "").split():
            return "De scope moet 'openid' bevatten."
        if not params.get("state"):
            return "De parameter state ontbreekt."
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE met S256 is verplicht."
        return None

    @router.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALG],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "name", "ketenpoort_roles", "ketenpoort_party", "bsn"],
        }

    @router.get("/jwks")
    def jwks() -> dict[str, Any]:
        return dev_keys().jwks()

    @router.get("/authorize")
    def authorize_page(request: Request) -> Response:
        params = {name: request.query_params.get(name, "") for name in AUTHORIZE_PARAMS}
        problem = check_authorize(params)
        if problem is not None:
            return render(request, "devidp/error.html", {"reason": problem}, status_code=400)
        users = dev_users(runtime_of(request).policy.current)
        return render(request, "devidp/choose.html", {"params": params, "users": users})

    @router.post("/authorize", dependencies=[Depends(verify_csrf)])
    async def authorize_choice(request: Request) -> Response:
        form = await request.form()
        params = {name: str(form.get(name, "")) for name in AUTHORIZE_PARAMS}
        problem = check_authorize(params)
        users = dev_users(runtime_of(request).policy.current)
        user = users.get(str(form.get("username", "")))
        if problem is None and user is None:
            problem = "Kies een van de demo-gebruikers."
        if problem is not None or user is None:
            return render(request, "devidp/error.html", {"reason": problem}, status_code=400)
        code = codes.issue(
            _Grant(
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                code_challenge=params["code_challenge"],
                nonce=params["nonce"] or None,
                user=user,
                expires_at=time.time() + CODE_TTL_S,
            )
        )
        query = urlencode({"code": code, "state": params["state"], "iss": issuer})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=303)

    @router.post("/token")
    async def token(request: Request) -> Response:
        form = await request.form()
        client, keys = dev_client(), dev_keys()
        credentials = _client_credentials(request, form)
        if credentials is None or credentials[0] != client.client_id:
            return _token_error("invalid_client", 401)
        if not secrets.compare_digest(credentials[1].encode(), client.client_secret.encode()):
            return _token_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type")
        grant = codes.redeem(str(form.get("code", "")))
        if grant is None or grant.client_id != client.client_id:
            return _token_error("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _token_error("invalid_grant")
        verifier = form.get("code_verifier")
        if not isinstance(verifier, str) or not secrets.compare_digest(
            _s256(verifier), grant.code_challenge
        ):
            return _token_error("invalid_grant")
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": grant.user.username,
            "aud": client.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + ID_TOKEN_TTL_S,
            "at_hash": _half_hash(access_token),
            **grant.user.claims(),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": ALG, "kid": keys.kid, "typ": "JWT"}, claims, keys.signing_key)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_TTL_S,
            "id_token": id_token,
            "scope": "openid profile",
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return router
