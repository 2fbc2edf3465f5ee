"""ASGI middleware giving ``request.session`` a server-side home (see session_store).

Pages, CSRF and authlib's OIDC state use ``request.session`` exactly as with
Starlette's ``SessionMiddleware``; only where it lives changed. The cookie
(``HttpOnly``, ``SameSite=Lax``, ``Secure`` behind HTTPS) carries the random
session id alone. A login calls :func:`rotate_session_id` so the id changes at
the moment privileges do (no fixation); an emptied session is deleted, which is
how logout ends it for every copy of the cookie.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.audit.keyfiles import KeyFileError
from gateway.auth.portal import LOGGED_IN_KEY
from gateway.auth.web_sessions import SessionStore
from gateway.httpserver import has_header
from gateway.problems import PROBLEM_MEDIA_TYPE, RETRY_AFTER_S, ServiceUnavailable
from gateway.redaction import redact_path
from gateway.storage.db import DatabaseUnavailable

log = logging.getLogger("ketenpoort.web.session")

SESSION_COOKIE = "ketenpoort_session"
_ROTATE = "ketenpoort.session.rotate"


def rotate_session_id(request: Request) -> None:
    """Make the response store this session under a new id and drop the old one."""
    request.scope[_ROTATE] = True


async def _unavailable(send: Send, scope: Scope) -> None:
    problem = ServiceUnavailable(detail="Sessions are unavailable; try again later.")
    body = json.dumps(problem.body(redact_path(str(scope.get("path", ""))))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"retry-after", RETRY_AFTER_S.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _snapshot(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def has_cookie_header(scope: Scope) -> bool:
    """Whether the request sent a ``Cookie`` header at all."""
    return has_header(scope["headers"], b"cookie")


class ServerSessionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        /,
        store: Callable[[], SessionStore],
        https_only: bool,
    ) -> None:
        self.app = app
        self._store = store
        self._secure = "; secure" if https_only else ""

    def _cookie(self, value: str, max_age: int) -> str:
        return (
            f"{SESSION_COOKIE}={value}; path=/; Max-Age={max_age}; httponly; samesite=lax"
            + self._secure
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # A request without any Cookie header (every partner API call) has no session
        # id: found in the raw headers, without building a connection and a cookie jar.
        session_id = (
            HTTPConnection(scope).cookies.get(SESSION_COOKIE) or None
            if has_cookie_header(scope)
            else None
        )
        loaded = None
        if session_id:
            store = self._usable_store()
            if store is not None:
                try:
                    loaded = await run_in_threadpool(store.load, session_id)
                except DatabaseUnavailable:
                    await _unavailable(send, scope)
                    return
        scope["session"] = dict(loaded.data) if loaded is not None else {}
        # Compared with only for a loaded session (in _persist): not made for the rest.
        before = _snapshot(scope["session"]) if loaded is not None else ""
        replaced = False

        async def send_wrapper(message: Message) -> None:
            # A session that cannot be stored (or deleted, at logout) must not look
            # stored: the whole answer becomes a 503 and the app's own is dropped.
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                try:
                    await self._persist(scope, message, session_id, loaded, before)
                except DatabaseUnavailable:
                    replaced = True
                    await _unavailable(send, scope)
                    return
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _usable_store(self) -> SessionStore | None:
        """The store, or ``None`` (fail closed: nobody is logged in) when its secret is unusable.

        Touched only by requests that carry a session cookie or fill a session,
        so the API keeps working whatever happens to the web secret.
        """
        try:
            return self._store()
        except KeyFileError as error:
            log.error("web sessions unavailable: %s", error)
            return None

    async def _persist(
        self,
        scope: Scope,
        message: Message,
        session_id: str | None,
        loaded: Any,
        before: str,
    ) -> None:
        data: dict[str, Any] = scope["session"]
        if not data and not session_id:
            return
        store = self._usable_store()
        if store is None:
            return
        headers = MutableHeaders(scope=message)
        rotate = bool(scope.pop(_ROTATE, False))
        if loaded is not None and session_id and (rotate or not data):
            await run_in_threadpool(store.delete, session_id)
        if data:
            if loaded is None or rotate or not session_id:
                logged_in = LOGGED_IN_KEY in data
                new_id = await run_in_threadpool(
                    functools.partial(store.create, data, logged_in=logged_in)
                )
                headers.append("Set-Cookie", self._cookie(new_id, store.absolute_s))
            elif _snapshot(data) != before:
                await run_in_threadpool(store.save, session_id, data)
            else:
                await run_in_threadpool(store.touch, session_id, loaded.last_seen_at)
        elif session_id:
            headers.append("Set-Cookie", self._cookie("", 0))


__all__ = ["SESSION_COOKIE", "ServerSessionMiddleware", "has_cookie_header", "rotate_session_id"]
