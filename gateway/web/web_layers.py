"""The web layers (server-side session, Dutch error pages) only where a page may need them.

Both were middleware on every request, the partner API's too: two coroutine
frames that every resumption of a brokered query's await chain passed through
(~9 Python calls a query), a session send wrapper on each answer, and a cookie
look-up. On the machine paths (``/v1``, ``/oauth``, ``/health``,
``/.well-known``, ``/openapi.json``) the error-page layer always let the
problem+json through unchanged, and no route there reads or fills
``request.session``; so an API request without a ``Cookie`` header goes
straight to the app below, with an empty session in its scope as the session
layer would have given it. A request to an API path that does carry a cookie
still goes through the session layer (a stale session cookie is still cleared
with ``Set-Cookie``, an unreachable session store still answers 503), and every
other request through both layers, as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.web_sessions import SessionStore
from gateway.httpserver import has_header
from gateway.web.html_errors import HtmlErrorPages, is_api_path
from gateway.web.session_middleware import ServerSessionMiddleware


class WebLayers:
    """Session and error pages around ``app``, skipped by a cookie-less API request."""

    def __init__(
        self, app: ASGIApp, /, store: Callable[[], SessionStore], https_only: bool
    ) -> None:
        self.app = app
        # Inside the session layer: the error page shows who is logged in.
        self.web = ServerSessionMiddleware(HtmlErrorPages(app), store=store, https_only=https_only)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the chosen layer's own awaitable is handed back to the caller,
        # so this layer is one call per request rather than a frame every resumption of
        # the request's await chain passes through (~4.7 times a brokered query).
        if (
            scope["type"] == "http"
            and is_api_path(str(scope.get("path", "")))
            and not has_header(scope["headers"], b"cookie")
        ):
            scope["session"] = {}
            return self.app(scope, receive, send)
        return self.web(scope, receive, send)
