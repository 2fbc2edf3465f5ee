"""The server span's name and ``http.route``, from a table of the app's routes made once."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from opentelemetry.util.http import sanitize_method
from starlette._utils import get_route_path
from starlette.routing import Mount
from starlette.types import Scope

# Raw request method -> the name OpenTelemetry reports (``sanitize_method``: upper case, or
# ``_OTHER`` for a method outside the HTTP specs). Methods are the caller's choice, so only
# the first few distinct ones are remembered.
_METHODS: dict[str, str] = {}
_METHODS_KEPT = 32


def sanitized_method(scope: Scope) -> str:
    """The request's method as the span and metric report it (``_OTHER`` if none or unknown)."""
    raw = scope.get("method", "")
    method = _METHODS.get(raw)
    if method is None:
        method = sanitize_method(str(raw).strip())
        if len(_METHODS) < _METHODS_KEPT:
            _METHODS[raw] = method
    return method


_Entry = tuple[Any, frozenset[str] | None, bool, str | None]


def _first_segments(path: str) -> tuple[str, ...]:
    """``/v1/cases/c-1/queries`` -> ``("v1", "cases")``: the index key of a path or template."""
    return tuple(path.split("/", 3)[1:3])


def _index_key(template: str | None, mount: bool) -> tuple[str, ...] | None:
    """The first segments every path this route matches starts with, or None (try it always).

    Two literal segments fix them; a shorter template only when it is wholly
    literal and not a mount (``/docs`` matches ``/docs`` alone, a mount at
    ``/static`` matches ``/static/x/y``).
    """
    if not template:
        return None
    key = _first_segments(template)
    if "{" in "/".join(key):
        return None
    if len(key) == 2 or ("{" not in template and not mount):
        return key
    return None


class RouteNames:
    """The server span's name and ``http.route``, from a table of the app's routes made once.

    ``FastAPIInstrumentor`` finds the route of every request by building
    FastAPI's route contexts and calling ``matches`` on each of the app's ~85
    routes in turn, before the router does the same scan again (~0.5 ms of CPU
    per request, measured in-process). This gives the same answer (first full
    match, else the last partial one, i.e. a known path with another method;
    the route's path template, a mount's prefix) from precompiled patterns,
    trying only the routes whose first two path segments are literal and equal
    to the request's, plus those that are not literal there, in app order.
    ``tests/foundation/test_route_names.py`` holds it equal to the
    instrumentation's own function for every route of the app. The table is
    rebuilt when routes were added after the first request (tests do that).
    """

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._size = -1
        self._by_key: dict[tuple[str, ...], list[_Entry]] = {}
        self._anywhere: list[_Entry] = []

    def _rebuild(self) -> None:
        keyed: list[tuple[tuple[str, ...] | None, _Entry]] = []
        for context in iter_route_contexts(self._app.routes):
            methods = context.methods
            mount = isinstance(context.original_route, Mount)
            template = context.path
            entry = (context.path_regex, frozenset(methods) if methods else None, mount, template)
            keyed.append((_index_key(template, mount), entry))
        keys = {key for key, _ in keyed if key is not None}
        self._by_key = {key: [entry for k, entry in keyed if k is None or k == key] for key in keys}
        self._anywhere = [entry for k, entry in keyed if k is None]
        self._size = len(self._app.routes)

    def route(self, scope: Scope) -> str | None:
        if len(self._app.routes) != self._size:
            self._rebuild()
        http = scope["type"] == "http"
        path = get_route_path(scope)
        method = scope.get("method")
        partial = None
        for pattern, methods, mount, template in self._by_key.get(
            _first_segments(path), self._anywhere
        ):
            if not (http or mount) or pattern.match(path) is None:
                continue
            if mount or methods is None or method in methods:
                return template
            partial = template
        return partial

    def describe(self, scope: Scope, method: str) -> tuple[str, str | None]:
        """(span name, route) for a request whose :func:`sanitized_method` is ``method``.

        ``POST /v1/cases/{case_id}/queries``; without a route the method alone; a
        method outside the specs (or none, a websocket) is shown as ``HTTP``.
        """
        route = self.route(scope)
        shown = "HTTP" if method == "_OTHER" else method
        if shown and route:
            return f"{shown} {route}", route
        return route or shown, route

    def __call__(self, scope: Scope) -> tuple[str, dict[str, str]]:
        """What ``default_span_details`` of the instrumentation returns: (name, attributes)."""
        name, route = self.describe(scope, sanitized_method(scope))
        return name, {HTTP_ROUTE: route} if route else {}
