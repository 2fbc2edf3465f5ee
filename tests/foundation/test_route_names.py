"""The server span's name and route come from a table, and say what the instrumentation would.

``gateway.telemetry.RouteNames`` replaces opentelemetry-instrumentation-fastapi's
per-request scan of every route; for every route of the real app (each method
it answers and one it does not), for mounts and for unknown paths, it must give
the same span name and ``http.route`` as the instrumentation's own function.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from opentelemetry.instrumentation.fastapi import _get_default_span_details

from gateway.app import create_app
from gateway.settings import Settings
from gateway.telemetry import RouteNames

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

OTHER_PATHS = (
    "/",
    "/nope",
    "/v1/cases/",
    "/v1/cases/1/",
    "/static/web/app.css",
    "/static/web",
    "/static/webx/a",
    "/static/swagger/swagger-ui.css",
    "/health/live/",
    "/health",
    "/v1",
    "/v1/",
    "//v1/cases",
    "/static",
    "/static/web/",
    "/static/web/a/b/c.js",
    "/docs",
    "/docs/",
    "/openapi.json",
    "/openapi.json/x",
)


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def _scopes(app: FastAPI) -> list[dict[str, object]]:
    paths = {_concrete(c.path) for c in iter_route_contexts(app.routes) if c.path}
    paths.update(OTHER_PATHS)
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW")
    return [
        {"type": kind, "path": path, "method": method, "root_path": "", "headers": [], "app": app}
        for path in sorted(paths)
        for method in methods
        for kind in ("http", "websocket")
    ]


def test_every_route_gets_the_instrumentations_name(settings: Settings) -> None:
    app = create_app(settings)
    names = RouteNames(app)
    scopes = _scopes(app)
    assert len(scopes) > 1000
    for scope in scopes:
        assert names(scope) == _get_default_span_details(scope), scope["path"]


def test_routes_added_later_are_seen(settings: Settings) -> None:
    app = create_app(settings)
    names = RouteNames(app)
    scope = {"type": "http", "path": "/late/7", "method": "GET", "root_path": "", "app": app}
    assert names(scope) == ("GET", {})

    @app.get("/late/{n}")
    def late(n: int) -> int:
        return n

    assert names(scope) == ("GET /late/{n}", {"http.route": "/late/{n}"})
