"""Who is logged in to the web pages, and the CSRF token of their session.

The session lives server-side (gateway/web/session_store.py): the cookie holds
only a random id, the data (this user, sealed) sits in the database. Roles come
from the ID token at login (see docs/web-login.md) and are not re-read until the
next login, which the absolute lifetime forces.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Request

from gateway.settings import Settings
from gateway.web.session_middleware import LOGGED_IN_KEY, rotate_session_id

USER_KEY = LOGGED_IN_KEY
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No (valid) login in this session; the handler sends the browser to log in."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


class RoleMissing(Exception):
    """Logged in, but without the role the page needs; rendered as a Dutch 403 page."""

    def __init__(self, role: str) -> None:
        super().__init__(f"role {role} required")
        self.role = role


class CsrfFailed(Exception):
    """A POST without the session's CSRF token; rendered as a Dutch 403 page."""


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


def start_session(request: Request, user: WebUser) -> None:
    """Replace whatever the session held (no fixation) with a fresh login."""
    request.session.clear()
    rotate_session_id(request)
    request.session[USER_KEY] = user.to_session()
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def end_session(request: Request) -> None:
    request.session.clear()


def current_user(request: Request) -> WebUser | None:
    """The logged-in user, or None when absent, malformed or past its absolute lifetime."""
    data = request.session.get(USER_KEY)
    if not isinstance(data, dict):
        return None
    try:
        user = WebUser.from_session(data)
    except (KeyError, TypeError, ValueError):
        request.session.pop(USER_KEY, None)
        return None
    web_settings: Settings = request.app.state.web_settings
    if time.time() - user.login_at > web_settings.session_absolute_s:
        end_session(request)
        return None
    return user


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (also before login: the dev IdP)."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Dependency for every POST handler: the form must carry the session's token."""
    expected = request.session.get(CSRF_KEY)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str):
        raise CsrfFailed()
    if not secrets.compare_digest(expected.encode(), sent.encode()):
        raise CsrfFailed()


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def require_login(request: Request) -> WebUser:
    user = current_user(request)
    if user is None:
        raise LoginRequired(_path_with_query(request))
    return user


def require_role(role: str) -> Callable[[Request], WebUser]:
    """A dependency: the logged-in user if they hold ``role`` (else login or 403)."""

    def dependency(request: Request) -> WebUser:
        user = require_login(request)
        if not user.has_role(role):
            raise RoleMissing(role)
        return user

    return dependency


HOME_PATH = "/auth/whoami"


def safe_next(path: str | None) -> str:
    """Only local absolute paths as a post-login target: no open redirect."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return HOME_PATH
    return path
