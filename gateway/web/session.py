"""Who is logged in to the web pages, and the CSRF token of their session.

The session lives server-side (gateway/auth/web_sessions.py): the cookie holds
only a random id, the data (this user, sealed) sits in the database. Roles come
from the ID token at login (see docs/web-login.md) and are not re-read until the
next login, which the absolute lifetime forces.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import Request

from gateway.auth.portal import CSRF_KEY, LOGGED_IN_KEY, WebUser, current_user, end_session
from gateway.web.session_middleware import rotate_session_id

__all__ = ["CSRF_KEY", "WebUser", "current_user", "end_session"]

USER_KEY = LOGGED_IN_KEY
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


def start_session(request: Request, user: WebUser) -> None:
    """Replace whatever the session held (no fixation) with a fresh login."""
    request.session.clear()
    rotate_session_id(request)
    request.session[USER_KEY] = user.to_session()
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


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
