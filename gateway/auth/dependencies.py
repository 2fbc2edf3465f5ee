"""FastAPI dependencies: who is calling, on whose behalf, with which role.

Every partner API route takes :func:`current_principal` (or
:func:`require_role`); the employee header is required because every audit
entry names the person the partner system acts for.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import Request

from gateway.auth.bearer import AccessTokenVerifier, InvalidToken
from gateway.auth.denials import Denial, DenialAudit
from gateway.auth.principal import Principal
from gateway.keys import KeyStoreError
from gateway.policy import PolicyHolder
from gateway.problems import BadRequest, Forbidden, ServiceUnavailable, Unauthorized
from gateway.subjects.bsn import FEW_ASCII_DIGITS, holds_bsn, holds_long_number

EMPLOYEE_HEADER = "X-Ketenpoort-Employee"
_EMPLOYEE = re.compile(r"[\w.@:+-]{1,128}")
_AUTHORIZATION_KEY = b"authorization"
_EMPLOYEE_KEY = EMPLOYEE_HEADER.lower().encode("latin-1")


def _credentials(request: Request) -> tuple[str, str]:
    """(Authorization, employee header) as sent, each ``""`` when absent: the first of each.

    Read from the ASGI scope's raw header list in one pass, as
    ``request.headers.get`` would answer (ASGI servers give the names in lower
    case; values are latin-1) but without building starlette's ``Headers`` for
    two look-ups on every request of the partner API.
    """
    authorization = employee = None
    for key, value in request.scope["headers"]:
        if key == _AUTHORIZATION_KEY:
            if authorization is None:
                authorization = value
        elif key == _EMPLOYEE_KEY and employee is None:
            employee = value
    return (
        authorization.decode("latin-1") if authorization is not None else "",
        employee.decode("latin-1") if employee is not None else "",
    )


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            detail="a bearer access token is required",
            headers={"WWW-Authenticate": 'Bearer realm="ketenpoort"'},
        )
    return token.strip()


class _AuthParts(Protocol):
    @property
    def verifier(self) -> AccessTokenVerifier: ...
    @property
    def denials(self) -> DenialAudit: ...


class AuthDoor(Protocol):
    """What the API door needs from the composition root (``gateway.wiring.Runtime``).

    A protocol, so auth does not import the root that imports auth.
    """

    @property
    def auth(self) -> _AuthParts: ...
    @property
    def policy(self) -> PolicyHolder: ...


def _door(request: Request) -> AuthDoor:
    door: AuthDoor = request.app.state.runtime  # annotated, not cast(): no call per request
    return door


class CovenantRefused(Forbidden):
    """The token's covenant binding no longer holds under the covenant in force."""

    slug = "covenant-binding"
    title = "Token no longer matches the covenant in force"


def _roles_in_force(
    door: AuthDoor, claims: dict[str, Any], *, inactive_ok: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The token's roles the covenant in force still grants, or the reason it grants nothing.

    An access token lives ten minutes; the covenant can be reloaded in between.
    So the binding is checked again on every request against ``policy.current``:
    the covenant still exists and is active today, the party is still one of
    its parties and the purpose still one of its purposes. Roles are the
    intersection of the token's and the covenant's, so a role removed from the
    covenant stops working at once and a role added needs a new token.

    ``inactive_ok`` lets a query through a covenant that has ended, so that the
    broker answers each (source, category) ``denied`` / ``convenant_inactive`` as
    the query contract says; it discloses nothing there either.
    """
    covenant = door.policy.current.covenant(claims["covenant"])
    if covenant is None:
        return "convenant_unknown", ()
    if not inactive_ok and not covenant.is_active(datetime.now(UTC).date()):
        return "convenant_inactive", ()
    party = covenant.party(claims["party"])
    if party is None:
        return "not_a_party", ()
    if covenant.purpose(claims["purpose"]) is None:
        return "purpose_unknown", ()
    return "", tuple([role for role in claims["roles"] if role in party.roles])


async def refuse(request: Request, principal: Principal, reason: str, detail: str) -> Forbidden:
    """Log a refusal at the API door and build its 403 (routes with their own checks use it too)."""
    await _door(request).auth.denials.record(
        Denial(
            where="api",
            party=principal.party,
            reason=reason,
            employee=principal.employee,
            convenant=principal.covenant,
            purpose=principal.purpose,
        )
    )
    if reason == "role_missing":
        return Forbidden(detail=detail, extensions={"reason": reason})
    return CovenantRefused(detail=detail, extensions={"reason": reason})


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, with the employee acting for it."""
    return await _principal(request, inactive_ok=False)


async def query_principal(request: Request) -> Principal:
    """Like :func:`current_principal`, but an ended covenant is left to the broker.

    The query contract answers a query under an ended covenant with every result
    ``denied`` / ``convenant_inactive`` (and those denials are logged by the broker).
    """
    return await _principal(request, inactive_ok=True)


async def _principal(request: Request, *, inactive_ok: bool) -> Principal:
    # Every request of the partner API comes through here (a brokered query too):
    # the door and the headers are looked up once, and no generator runs per role.
    door = _door(request)
    authorization, employee = _credentials(request)
    token = _bearer(authorization)
    try:
        claims = door.auth.verifier.verify(token)
    except InvalidToken as error:
        raise Unauthorized(
            detail=error.reason,
            headers={"WWW-Authenticate": 'Bearer realm="ketenpoort", error="invalid_token"'},
        ) from None
    except KeyStoreError:
        raise ServiceUnavailable(detail="the gateway's keys are unavailable") from None
    employee = employee.strip()
    if not employee:
        raise BadRequest(detail=f"the {EMPLOYEE_HEADER} header is required")
    # The employee id is logged in clear: one holding a BSN is refused (docs/auth.md), and
    # so is one with a part holding 8+ digits once separators are out ("123_456_782",
    # "¹²³456782"): an id needs no number that long, and the refusal needs no guess at
    # what it is. Parts are split at ":", because a peer gateway sends its own party and
    # employee as "<party>:<employee>" (a party "gm0363" and an employee "1234" are no
    # long number together); a BSN across parts ("999:990:007") is still a BSN.
    # An ASCII id with at most 7 digits in all can hold neither (nearly every id, per call).
    if not _EMPLOYEE.fullmatch(employee) or (
        not (employee.isascii() and FEW_ASCII_DIGITS.fullmatch(employee))
        and (any(holds_long_number(part) for part in employee.split(":")) or holds_bsn(employee))
    ):
        raise BadRequest(detail=f"the {EMPLOYEE_HEADER} header is not a valid employee id")
    refusal, roles = _roles_in_force(door, claims, inactive_ok=inactive_ok)
    principal = Principal(
        party=claims["party"],
        roles=roles,
        covenant=claims["covenant"],
        purpose=claims["purpose"],
        employee=employee,
        client_id=claims["client_id"],
        token_id=claims["jti"],
        revoked_roles=tuple([role for role in claims["roles"] if role not in roles]),
    )
    if refusal:
        raise await refuse(
            request, principal, refusal, "the token's covenant binding no longer holds"
        )
    return principal


def require_role(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency like :func:`current_principal` that also demands one of ``roles``.

    A refusal names why: ``role_revoked`` when the token carried the role but the
    covenant in force no longer grants it, ``role_missing`` otherwise.
    """

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.has_role(*roles):
            revoked = any(role in principal.revoked_roles for role in roles)
            reason = "role_revoked" if revoked else "role_missing"
            problem = await refuse(
                request, principal, reason, "this needs one of the roles: " + ", ".join(roles)
            )
            raise problem
        return principal

    return dependency
