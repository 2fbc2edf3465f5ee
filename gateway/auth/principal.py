"""Who is calling: the party, the covenant and purpose its token is bound to, and the employee."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Built from a verified access token plus ``X-Ketenpoort-Employee``.

    ``covenant`` and ``purpose`` come from the token only (doelbinding): a
    request body can never widen them.
    """

    party: str
    roles: tuple[str, ...]
    covenant: str
    purpose: str
    employee: str
    client_id: str
    token_id: str
    # Roles the token carried that the covenant in force no longer grants: a refusal for
    # one of these is ``role_revoked`` (the caller's system should fetch a new token).
    revoked_roles: tuple[str, ...] = ()

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)
