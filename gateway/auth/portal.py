"""The person or employee logged in to the web pages, as every HTTP door reads it.

The web login (gateway/web/login.py) writes this into the server-side
session; the pages and the partner API's person routes (``/v1/rights-requests``
filed from the portal, ``/v1/me/...``) read it. It lives here, below both, so
the API never imports the web pages.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Request

from gateway.settings import Settings
from gateway.subjects.bsn import Bsn, InvalidBsnError

LOGGED_IN_KEY = "user"
"""Where the login sits in the session (the session middleware reads it too)."""
CSRF_KEY = "csrf"


@dataclass(frozen=True)
class WebUser:
    """A human logged in through OIDC; ``bsn`` only for people using /mijn."""

    sub: str
    name: str
    roles: tuple[str, ...]
    party: str | None
    bsn: str | None
    login_at: float
    # The covenants ``party`` belongs to, fixed at login from the policy (never from the IdP).
    covenants: tuple[str, ...] = ()
    # A representative's login: ``bsn`` is the person they act for, this their relation
    # (ouder, voogd, gemachtigde), asserted by the identity provider (docs/web-login.md).
    representative: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def to_session(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = list(self.roles)
        data["covenants"] = list(self.covenants)
        return data

    @classmethod
    def from_session(cls, data: Mapping[str, Any]) -> WebUser:
        return cls(
            sub=str(data["sub"]),
            name=str(data["name"]),
            roles=tuple(str(role) for role in data["roles"]),
            party=None if data.get("party") is None else str(data["party"]),
            bsn=None if data.get("bsn") is None else str(data["bsn"]),
            login_at=float(data["login_at"]),
            covenants=tuple(str(covenant) for covenant in data.get("covenants", ())),
            representative=None
            if data.get("representative") is None
            else str(data["representative"]),
        )


def end_session(request: Request) -> None:
    request.session.clear()


def current_user(request: Request) -> WebUser | None:
    """The logged-in user, or None when absent, malformed or past its absolute lifetime."""
    data = request.session.get(LOGGED_IN_KEY)
    if not isinstance(data, dict):
        return None
    try:
        user = WebUser.from_session(data)
    except (KeyError, TypeError, ValueError):
        request.session.pop(LOGGED_IN_KEY, None)
        return None
    web_settings: Settings = request.app.state.web_settings
    if time.time() - user.login_at > web_settings.session_absolute_s:
        end_session(request)
        return None
    return user


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
