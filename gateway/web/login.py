"""Human login for the web pages: OpenID Connect through authlib's Starlette client.

Authorization code flow with PKCE S256, ``state`` and ``nonce`` kept in the
session; authlib validates the ID token's signature against the provider's
JWKS and its ``iss``, ``aud``, ``exp``, ``nonce`` and ``at_hash``. The claim
contract (roles, party, bsn) is in docs/web-login.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError

from gateway.audit.officer import member_covenants
from gateway.web.session import (
    WebUser,
    current_user,
    end_session,
    safe_next,
    start_session,
    verify_csrf,
)
from gateway.web.templating import render
from gateway.wiring import runtime_of

log = logging.getLogger("ketenpoort.web.login")

CLIENT_NAME = "ketenpoort"
CALLBACK_PATH = "/auth/callback"
NEXT_KEY = "login_next"
ROLES_CLAIM = "ketenpoort_roles"
PARTY_CLAIM = "ketenpoort_party"
BSN_CLAIM = "bsn"
ACTS_FOR_CLAIM = "ketenpoort_acts_for"
RELATIONS = ("ouder", "voogd", "gemachtigde")
PARENTAL_AGE_LIMIT = 16
"""UAVG art. 5: for a child under 16 the parent or guardian exercises the rights."""


@dataclass(frozen=True)
class OidcClientConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


def build_oauth(config: OidcClientConfig) -> OAuth:
    oauth = OAuth()
    oauth.register(
        name=CLIENT_NAME,
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
    )
    return oauth


class InvalidClaims(ValueError):
    """The ID token was valid but does not follow our claim contract."""


def user_from_claims(claims: Mapping[str, Any], now: float) -> WebUser:
    roles = claims.get(ROLES_CLAIM, [])
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidClaims(ROLES_CLAIM)
    party = claims.get(PARTY_CLAIM)
    bsn = claims.get(BSN_CLAIM)
    if party is not None and not isinstance(party, str):
        raise InvalidClaims(PARTY_CLAIM)
    if bsn is not None and not isinstance(bsn, str):
        raise InvalidClaims(BSN_CLAIM)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidClaims("sub")
    name = claims.get("name") or claims.get("preferred_username") or sub
    representative = None
    if ACTS_FOR_CLAIM in claims:
        bsn, representative = _acts_for(claims[ACTS_FOR_CLAIM], now)
    return WebUser(
        sub=sub,
        name=str(name),
        roles=tuple(roles),
        party=party,
        bsn=bsn,
        login_at=now,
        representative=representative,
    )


def _acts_for(claim: object, now: float) -> tuple[str, str]:
    """The represented person's BSN and the relation; :class:`InvalidClaims` if no mandate.

    ``{"bsn", "relation": "ouder" | "voogd" | "gemachtigde", "birthdate"?}``, as
    the identity broker asserts it (DigiD Machtigen, a mandate register or the
    BRP parental-authority check). A parent or guardian acts only for a child
    under 16 (UAVG art. 5), so ``birthdate`` is required for them; any doubt
    fails the login closed rather than letting someone act without a mandate.
    """
    if not isinstance(claim, dict):
        raise InvalidClaims(ACTS_FOR_CLAIM)
    bsn, relation = claim.get("bsn"), claim.get("relation")
    if not isinstance(bsn, str) or relation not in RELATIONS:
        raise InvalidClaims(ACTS_FOR_CLAIM)
    assert isinstance(relation, str)
    if relation != "gemachtigde":
        born = claim.get("birthdate")
        try:
            birthdate = date.fromisoformat(born) if isinstance(born, str) else None
        except ValueError:
            birthdate = None
        today = datetime.fromtimestamp(now, UTC).date()
        if birthdate is None or _age(birthdate, today) >= PARENTAL_AGE_LIMIT:
            raise InvalidClaims(ACTS_FOR_CLAIM)
    return bsn, relation


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def build_router(oauth_client: Callable[[], OAuth | None], redirect_uri: str) -> APIRouter:
    """``/auth/login``, ``/auth/callback``, ``/auth/logout``; a None client = not configured."""
    router = APIRouter(prefix="/auth", include_in_schema=False)

    @router.get("/login", name="web-login")
    async def login(request: Request, next: str | None = None) -> Response:
        oauth = oauth_client()
        if oauth is None:
            return render(request, "login_unavailable.html", status_code=503)
        request.session[NEXT_KEY] = safe_next(next)
        client = oauth.create_client(CLIENT_NAME)
        response: Response = await client.authorize_redirect(request, redirect_uri)
        return response

    @router.get("/callback")
    async def callback(request: Request) -> Response:
        oauth = oauth_client()
        if oauth is None:
            return render(request, "login_unavailable.html", status_code=503)
        client = oauth.create_client(CLIENT_NAME)
        try:
            token = await client.authorize_access_token(request)
            userinfo = token.get("userinfo")
            if userinfo is None:
                raise InvalidClaims("id_token")
            user = user_from_claims(userinfo, time.time())
            # Bound to the party's covenants in the policy in force (docs/web-login.md).
            policy = runtime_of(request).policy.current
            user = replace(user, covenants=member_covenants(policy, user.party))
        except (OAuthError, JoseError, InvalidClaims, httpx.HTTPError) as exc:
            log.warning("login failed: %s", type(exc).__name__)
            return render(request, "login_failed.html", status_code=400)
        next_path = safe_next(request.session.get(NEXT_KEY))
        start_session(request, user)
        return RedirectResponse(next_path, status_code=303)

    @router.post("/logout", dependencies=[Depends(verify_csrf)])
    async def logout(request: Request) -> Response:
        end_session(request)
        return render(request, "logged_out.html")

    @router.get("/whoami", include_in_schema=False)
    async def whoami(request: Request) -> Response:
        return render(request, "whoami.html", {"who": current_user(request)})

    return router
