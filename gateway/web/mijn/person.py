"""Who the person is: the ``bsn`` claim of their OIDC login (DigiD in production)."""

from __future__ import annotations

from fastapi import Request

from gateway.subjects.bsn import Bsn, InvalidBsnError
from gateway.web.session import RoleMissing, current_user, require_login

PERSON_ROLE = "betrokkene"


def person_of(request: Request) -> Bsn | None:
    """The logged-in person's BSN, or None without a login or a valid ``bsn`` claim."""
    user = current_user(request)
    if user is None or user.bsn is None:
        return None
    try:
        return Bsn(user.bsn)
    except InvalidBsnError:
        return None


def representative_of(request: Request) -> str | None:
    """The relation (ouder, voogd, gemachtigde) when the login acts for someone else."""
    user = current_user(request)
    return user.representative if user is not None else None


def require_person(request: Request) -> Bsn:
    """Dependency for /mijn: a login (else redirect to log in) that carries a BSN (else 403)."""
    require_login(request)
    bsn = person_of(request)
    if bsn is None:
        raise RoleMissing(PERSON_ROLE)
    return bsn
