"""Who the person is: the ``bsn`` claim of their OIDC login (DigiD in production)."""

from __future__ import annotations

from fastapi import Request

from gateway.auth.portal import person_of, representative_of
from gateway.subjects.bsn import Bsn
from gateway.web.session import RoleMissing, require_login

__all__ = ["person_of", "representative_of", "require_person"]

PERSON_ROLE = "betrokkene"


def require_person(request: Request) -> Bsn:
    """Dependency for /mijn: a login (else redirect to log in) that carries a BSN (else 403)."""
    require_login(request)
    bsn = person_of(request)
    if bsn is None:
        raise RoleMissing(PERSON_ROLE)
    return bsn
