"""The web layers skip a cookie-less API request, and every answer stays what it was.

``gateway.web.web_layers.WebLayers`` replaced the session and error-page
middlewares on the app: a request to an API path without a ``Cookie`` header
goes past both. Each request below goes to the app as built and to the same
app with the two layers installed as before; status, headers (but ``date``)
and body must be equal: API problems stay problem+json for a browser, a page
path's problem becomes the Dutch page, a stale session cookie is cleared on
an API path and on a page, a page that fills the session sets its cookie.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.middleware import Middleware

from gateway.app import create_app
from gateway.settings import Settings
from gateway.web.html_errors import HtmlErrorPages
from gateway.web.session_middleware import ServerSessionMiddleware
from gateway.web.web_layers import WebLayers

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
STALE = {"cookie": "ketenpoort_session=stale-session-id"}
REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/v1/cases/c-0123456789abcdefghij", {}),
    ("GET", "/v1/cases/c-0123456789abcdefghij", BROWSER),
    ("GET", "/v1/cases/c-0123456789abcdefghij", {**BROWSER, **STALE}),
    ("POST", "/v1/cases/c-0123456789abcdefghij/queries", {"content-type": "application/json"}),
    ("GET", "/v1", BROWSER),
    ("GET", "/v1x", BROWSER),
    ("GET", "/health/live", {}),
    ("GET", "/openapi.json", BROWSER),
    ("GET", "/oauth/jwks", STALE),
    ("GET", "/nope", BROWSER),
    ("GET", "/nope", {**BROWSER, **STALE}),
    ("GET", "/privacy", BROWSER),
    ("GET", "/login", BROWSER),
]


def _as_before(app: FastAPI) -> FastAPI:
    """The same app with the session and error-page middlewares installed as before."""
    [index] = [i for i, m in enumerate(app.user_middleware) if m.cls is WebLayers]
    kwargs: dict[str, Any] = dict(app.user_middleware[index].kwargs)
    app.user_middleware[index : index + 1] = [
        Middleware(ServerSessionMiddleware, **kwargs),
        Middleware(HtmlErrorPages),
    ]
    return app


def _answer(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    response = client.request(method, path, headers=headers, follow_redirects=False)
    kept = [(k, v) for k, v in response.headers.multi_items() if k not in ("date", "set-cookie")]
    cookies = [
        v.split("=", 1)[0] + ("=" if v.split("=", 1)[1].startswith(";") else "=…")
        for v in response.headers.get_list("set-cookie")
    ]
    body = response.content if "correlation_id" not in response.text else None
    return response.status_code, kept, cookies, body


def test_every_answer_is_the_one_the_two_layers_gave(settings: Settings) -> None:
    ours, before = create_app(settings), _as_before(create_app(settings))
    with TestClient(ours) as new_client, TestClient(before) as old_client:
        for method, path, headers in REQUESTS:
            answer = _answer(new_client, method, path, headers)
            assert answer == _answer(old_client, method, path, headers), (method, path)


def test_the_app_has_the_web_layers_not_the_two_middlewares(settings: Settings) -> None:
    app = create_app(settings)
    [layers] = [m for m in app.user_middleware if m.cls is WebLayers]
    assert layers.kwargs["https_only"] is False
    assert not any(m.cls in (ServerSessionMiddleware, HtmlErrorPages) for m in app.user_middleware)
