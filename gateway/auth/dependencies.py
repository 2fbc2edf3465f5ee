"""FastAPI dependencies: who is calling, on whose behalf, with which role.

Every partner API route takes :func:`current_principal` (or
:func:`require_role`); the employee header is required because every audit
entry names the person the partner system acts for.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import Request

from gateway.auth.bearer import AccessTokenVerifier, InvalidToken
from gateway.auth.principal import Principal
from gateway.auth.services import auth_services
from gateway.keys import KeyStoreError
from gateway.problems import BadRequest, Forbidden, ServiceUnavailable, Unauthorized

EMPLOYEE_HEADER = "X-Ketenpoort-Employee"
_EMPLOYEE = re.compile(r"[\w.@:+-]{1,128}")


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            detail="a bearer access token is required",
            headers={"WWW-Authenticate": 'Bearer realm="ketenpoort"'},
        )
    return token.strip()


def _verifier(request: Request) -> AccessTokenVerifier:
    return auth_services(request.app.state.runtime).verifier


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, with the employee acting for it."""
    token = _bearer(request)
    try:
        claims = _verifier(request).verify(token)
    except InvalidToken as error:
        raise Unauthorized(
            detail=error.reason,
            headers={"WWW-Authenticate": 'Bearer realm="ketenpoort", error="invalid_token"'},
        ) from None
    except KeyStoreError:
        raise ServiceUnavailable(detail="the gateway's keys are unavailable") from None
    employee = request.headers.get(EMPLOYEE_HEADER, "").strip()
    if not employee:
        raise BadRequest(detail=f"the {EMPLOYEE_HEADER} header is required")
    if not _EMPLOYEE.fullmatch(employee):
        raise BadRequest(detail=f"the {EMPLOYEE_HEADER} header is not a valid employee id")
    return Principal(
        party=claims["party"],
        roles=tuple(claims["roles"]),
        covenant=claims["covenant"],
        purpose=claims["purpose"],
        employee=employee,
        client_id=claims["client_id"],
        token_id=claims["jti"],
    )


def require_role(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency like :func:`current_principal` that also demands one of ``roles``."""

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.has_role(*roles):
            raise Forbidden(detail="this needs one of the roles: " + ", ".join(roles))
        return principal

    return dependency
