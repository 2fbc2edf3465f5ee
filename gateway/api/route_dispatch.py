"""Requests for the API's routes go straight to their FastAPI route, not through the router's scan.

FastAPI (0.137 on) keeps every ``include_router`` as an included router and
finds a request's route anew each time: it asks each included router in turn
whether one of its routes matches, then the router that said yes looks again
to pick it, and every route it tries costs about six Python calls (its
effective route context put into and taken out of the scope, the route path,
the pattern). A brokered query (``POST /v1/cases/{case_id}/queries``) was
reached after 27 such tries, ~230 of its ~2,400 Python calls.

:class:`RouteDispatch` takes the router's place as the ASGI app the router
calls (``router.middleware_stack``, Starlette's hook for router middleware)
and keeps a table keyed on (method, first two path segments). Under a key are
the routes that could match a path starting with those segments with that
method, in the app's order. The first of them whose pattern matches is the
route FastAPI's scan picks too: the scan takes the first full match in app
order (an earlier partial match, a known path with another method, loses to
it), and no route left out of the list can match. The request then goes
where FastAPI sends a route it picked in an included router: the scope gets
``router``, ``endpoint``, ``path_params`` (through the route's own
convertors), ``route`` and the route's effective context and included router
under ``scope["fastapi"]``, and the APIRoute's own ``handle`` runs it. So
dependencies, body, validation, response and exception handling are
FastAPI's own, unchanged, except that a route that fits
:func:`gateway.api.lean_route.lean_plan` runs a plain JSON request through
:class:`gateway.api.lean_route.LeanRoute` (FastAPI's own steps without its
general machinery; anything else still goes to the route's own app).

Everything else goes to FastAPI's router as before: a path no indexed route
matches (404, 405 with ``Allow``, the slash redirect), websockets, mounts,
routes with a parameter in their first two segments, and any key that a route
the table cannot run (a mount, a plain Starlette route, a nested include, a
router with form limits) might also match. The table is rebuilt when a router
changes its routes. Should FastAPI's internals this relies on be missing (a
FastAPI release moved them), nothing is installed and FastAPI routes as
always. ``tests/foundation/test_route_dispatch.py`` holds every route of the
app to the route, endpoint and path parameters FastAPI's own routing gives.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from fastapi import FastAPI, routing
from starlette._utils import get_route_path
from starlette.convertors import Convertor
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.lean_route import LeanRoute, lean_plan

# FastAPI's own names for what a route it picked finds in the scope, and its
# classes for included routers and their routes (private: looked up, not imported).
_INCLUDED: Final[Any] = getattr(routing, "_IncludedRouter", None)
_SCOPE_KEY: Final[Any] = getattr(routing, "_FASTAPI_SCOPE_KEY", None)
_CONTEXT_KEY: Final[Any] = getattr(routing, "_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY", None)
_ROUTER_KEY: Final[Any] = getattr(routing, "_FASTAPI_INCLUDED_ROUTER_KEY", None)
# Where FastAPI's own telemetry keeps a request's state; the table leaves such requests alone.
_TELEMETRY_KEY: Final = "fastapi.telemetry"


def supported(router: routing.APIRouter) -> bool:
    """Whether this FastAPI has the internals the dispatch reproduces, and ``router`` no extras.

    Router middleware or router form limits would make FastAPI's router do more
    than pick a route, so the table is not put in front of such a router.
    """
    if None in (_INCLUDED, _SCOPE_KEY, _CONTEXT_KEY, _ROUTER_KEY):
        return False
    if not hasattr(_INCLUDED, "effective_candidates") or not hasattr(router, "_routes_version"):
        return False
    return router.middleware_stack == router.app and not getattr(router, "form_limits", None)


@dataclass(frozen=True, slots=True)
class _Target:
    """One APIRoute of an included router, as FastAPI's scan would run it."""

    pattern: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]
    context: Any  # fastapi.routing._EffectiveRouteContext
    route: routing.APIRoute
    included: Any  # fastapi.routing._IncludedRouter
    app: ASGIApp  # what the route's handle runs for a request it matched


def _target(context: Any, route: routing.APIRoute, included: Any) -> _Target:
    """The route as FastAPI runs it from an included router.

    ``APIRoute.handle`` checks the method (the table only holds routes for
    their own methods) and runs the effective context's app; that app is
    called directly, one coroutine less in every await chain of the request,
    unless the route's class has a ``handle`` of its own.
    """
    own_handle = type(route).handle is not routing.APIRoute.handle
    app = route.handle if own_handle or context.app is None else context.app
    # A route class that builds its own handler (FastAPI's documented way to put a
    # check in front of a route) keeps it: the lean path would run without it.
    own_handler = type(route).get_route_handler is not routing.APIRoute.get_route_handler
    if app is context.app and not own_handler and (plan := lean_plan(context)) is not None:
        app = LeanRoute(plan, app)  # the plain JSON case without FastAPI's machinery
    return _Target(context.path_regex, context.param_convertors, context, route, included, app)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A route of the app in scan order: what paths and methods it may match, if it can be run."""

    prefix: str | None  # every path it matches starts with this; None: any path
    methods: frozenset[str] | None  # None: any method
    target: _Target | None  # None: only FastAPI's router may run it


def _literal_prefix(template: str | None) -> str | None:
    """``/v1/cases/{case_id}/queries`` -> ``/v1/cases/``: what every matching path starts with.

    Starlette compiles a template to an anchored pattern with its literal parts
    escaped, so a path the route matches starts with the part before the first
    parameter (for a mount, with the mount path).
    """
    if template is None:
        return None
    return template.split("{", 1)[0]


def _methods(route: Any) -> frozenset[str] | None:
    methods = getattr(route, "methods", None)
    return frozenset(methods) if methods else None


def _candidates(router: routing.APIRouter, routers: list[Any]) -> Iterator[_Candidate]:
    """The app's routes in FastAPI's scan order; ``routers`` collects every router met."""
    routers.append(router)
    for route in router.routes:
        if not isinstance(route, _INCLUDED):
            yield _Candidate(_literal_prefix(getattr(route, "path", None)), _methods(route), None)
            continue
        routers.append(route.original_router)
        runnable = not getattr(route.include_context, "form_limits", None)
        for candidate in route.effective_candidates():
            original = getattr(candidate, "original_route", None)
            if isinstance(candidate, _INCLUDED) or original is None:
                # A nested include: its routes could be anywhere; FastAPI decides.
                routers.append(getattr(candidate, "original_router", None))
                yield _Candidate(None, None, None)
            elif isinstance(original, routing.APIRoute):
                # A route class with a ``matches`` of its own (by header, by host) decides
                # more than the pattern says: only FastAPI's scan asks it.
                own_matches = type(original).matches is not routing.APIRoute.matches
                target = _target(candidate, original, route)
                yield _Candidate(
                    _literal_prefix(candidate.path),
                    _methods(candidate),
                    target if runnable and not own_matches else None,
                )
            else:
                effective = candidate.starlette_route or original
                prefix = _literal_prefix(getattr(effective, "path", None))
                yield _Candidate(prefix, _methods(effective), None)


def _key_of(template: str) -> tuple[str, str] | None:
    """The first two segments of a template when both are literal, else None."""
    parts = template.split("/", 3)
    if len(parts) < 3 or "{" in parts[1] or "{" in parts[2]:
        return None
    return parts[1], parts[2]


def _may_match(candidate: _Candidate, method: str, start: str) -> bool:
    """Whether ``candidate`` could fully match ``method`` and a path ``start`` or ``start/...``."""
    if candidate.methods is not None and method not in candidate.methods:
        return False
    prefix = candidate.prefix
    return prefix is None or start.startswith(prefix) or prefix.startswith(start + "/")


def build_table(
    candidates: list[_Candidate],
) -> dict[tuple[str, str, str], tuple[_Target, ...]]:
    """(method, segment, segment) -> the runnable routes to try, for every key no other can take."""
    keys: set[tuple[str, str, str]] = set()
    for candidate in candidates:
        target = candidate.target
        if target is None or candidate.methods is None:
            continue
        key = _key_of(target.context.path)
        if key is not None:
            keys.update((method, *key) for method in candidate.methods)
    table: dict[tuple[str, str, str], tuple[_Target, ...]] = {}
    for method, first, second in keys:
        start = f"/{first}/{second}"
        reachable = [c for c in candidates if _may_match(c, method, start)]
        if all(c.target is not None for c in reachable):
            table[method, first, second] = tuple(
                c.target for c in reachable if c.target is not None
            )
    return table


_ROUTES_VERSION = attrgetter("_routes_version")
_ROUTES = attrgetter("routes")


class RouteDispatch:
    """The router's ASGI app with a table in front: see the module docstring."""

    def __init__(self, router: routing.APIRouter, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self._table: dict[tuple[str, str, str], tuple[_Target, ...]] = {}
        self._routers: tuple[Any, ...] = ()
        self._seen: tuple[list[int], list[int]] = ([], [])

    def _rebuild(self) -> None:
        routers: list[Any] = []
        candidates = list(_candidates(self.router, routers))
        self._table = build_table(candidates)
        self._routers = tuple(r for r in routers if r is not None)
        self._seen = self._state()

    def _state(self) -> tuple[list[int], list[int]]:
        """Each router's ``_routes_version`` and number of routes, read in C (``map``):
        a loop over the routers per request was ~500 bytecodes (issue 16)."""
        routers = self._routers
        return list(map(_ROUTES_VERSION, routers)), list(map(len, map(_ROUTES, routers)))

    def select(self, scope: Scope) -> tuple[_Target, dict[str, Any]] | None:
        """The route FastAPI would run for ``scope`` and its converted path parameters, or None.

        None means: let FastAPI's router decide (it may still find a route).
        """
        if scope["type"] != "http" or _TELEMETRY_KEY in scope:
            return None
        if not self._routers or self._state() != self._seen:
            self._rebuild()  # routes added or removed since (tests do that)
        path = get_route_path(scope)
        parts = path.split("/", 3)
        if len(parts) < 3:
            return None
        targets = self._table.get((scope["method"], parts[1], parts[2]))
        if targets is None:
            return None
        for target in targets:
            found = target.pattern.match(path)
            if found is not None:
                params = found.groupdict()
                for name, value in params.items():
                    params[name] = target.convertors[name].convert(value)
                return target, params
        return None

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the route's own awaitable is handed back to the router, so
        # the table is one call per request rather than a frame of the await chain.
        selected = self.select(scope)
        if selected is None:
            return self.fallback(scope, receive, send)
        target, params = selected
        # What APIRouter.app, _IncludedRouter.handle and _handle_selected leave in the scope.
        path_params = dict(scope.get("path_params", {}))
        path_params.update(params)
        if "router" not in scope:
            scope["router"] = self.router
        fastapi_scope = scope.setdefault(_SCOPE_KEY, {})
        fastapi_scope[_ROUTER_KEY] = target.included
        fastapi_scope[_CONTEXT_KEY] = target.context
        scope["endpoint"] = target.context.endpoint
        scope["path_params"] = path_params
        scope["route"] = target.route
        return target.app(scope, receive, send)


def install_route_dispatch(app: FastAPI) -> RouteDispatch | None:
    """Put a :class:`RouteDispatch` in front of ``app``'s router; None where it cannot be."""
    router = app.router
    if not supported(router):
        return None
    dispatch = RouteDispatch(router, router.middleware_stack)
    # An ASGI app (Starlette types the attribute as its own coroutine method): the
    # router awaits what the call returns, here the route's awaitable.
    router.middleware_stack = dispatch  # type: ignore[assignment]
    return dispatch
