"""The route table in front of FastAPI's router picks what FastAPI's own routing picks.

``gateway.api.route_dispatch.RouteDispatch`` sends a request whose method and
first two path segments are in its table straight to the route, without
FastAPI's scan of every included router. For every route of the real app
(its own methods, other methods, concrete paths and near misses, with and
without a root path) the route, endpoint and path parameters it picks are
the ones of FastAPI's first full match; for every partner route the scope
its run leaves is the one FastAPI's router leaves; routes added later are
seen; and over HTTP, with the table and with FastAPI's router alone, every
route answers the same status, content type and ``Allow`` (405 on a wrong
method, 404 on an unknown path, 200 for a brokered query).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import Match
from starlette.types import Message, Scope

from gateway.api.openapi import PartnerRoute
from gateway.api.route_dispatch import RouteDispatch, install_route_dispatch
from gateway.app import create_app
from gateway.demo.stack import Stack
from gateway.settings import Settings
from tests.support.stack import open_demo_case

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW")
FILLS = ("1", "c-0123456789abcdefghij", "x.y")
NEAR_MISSES = (
    "/",
    "/nope",
    "/v1",
    "/v1/",
    "/v1/cases/",
    "/v1/casesx",
    "/v1/cases//queries",
    "/v1/cases/1/queries/",
    "/v1/cases/1/queries/2",
    "/v1/cases/1/",
    "/v1/consents/1/decision/x",
    "//v1/cases",
    "/health/live/",
    "/health",
    "/oauth/token/",
    "/static/web/app.css",
    "/docs",
    "/openapi.json",
)


def _concrete(template: str, fill: str) -> str:
    return re.sub(r"\{[^}]+\}", fill, template)


def _paths(app: FastAPI) -> list[str]:
    templates = {c.path for c in iter_route_contexts(app.routes) if c.path}
    paths = {_concrete(t, fill) for t in templates for fill in FILLS}
    return sorted(paths | set(NEAR_MISSES))


def _scope(app: FastAPI, method: str, path: str, root_path: str = "", kind: str = "http") -> Scope:
    return {
        "type": kind,
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "headers": [],
        "query_string": b"",
        "app": app,
    }


def _fastapi_pick(app: FastAPI, scope: Scope) -> tuple[Any, Scope] | None:
    """FastAPI's choice: the first route context, in app order, that fully matches."""
    for context in iter_route_contexts(app.routes):
        match, child_scope = context.matches(scope)
        if match is Match.FULL:
            return context, child_scope
    return None


def _dispatch(app: FastAPI) -> RouteDispatch:
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, RouteDispatch)
    return dispatch


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_it_stands_in_front_of_fastapis_router(app: FastAPI) -> None:
    dispatch = _dispatch(app)
    assert dispatch.fallback == app.router.app
    assert dispatch.router is app.router


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_path_and_method_gets_fastapis_route(app: FastAPI) -> None:
    dispatch = _dispatch(app)
    picked = 0
    for root_path in ("", "/gateway"):
        for path in _paths(app):
            for method in METHODS:
                for kind in ("http", "websocket"):
                    scope = _scope(app, method, path, root_path, kind)
                    selected = dispatch.select(scope)
                    if selected is None:
                        continue  # FastAPI's router decides, as it always did
                    picked += 1
                    target, params = selected
                    reference = _fastapi_pick(app, scope)
                    assert reference is not None, (method, path)
                    context, child_scope = reference
                    assert context.original_route is target.route, (method, path)
                    assert child_scope["endpoint"] is target.context.endpoint
                    assert child_scope["path_params"] == params, (method, path)
    assert picked > 200


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_partner_route_and_the_probes_are_in_the_table(app: FastAPI) -> None:
    dispatch = _dispatch(app)
    hot = [
        c
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, PartnerRoute)
        or c.path in ("/health/live", "/health/ready", "/oauth/token")
    ]
    assert len(hot) > 35
    for context in hot:
        for method in context.methods:
            selected = dispatch.select(_scope(app, method, _concrete(context.path, "1")))
            assert selected is not None, (method, context.path)
            assert selected[0].route is context.original_route, (method, context.path)
    query = dispatch.select(_scope(app, "POST", "/v1/cases/c-1/queries"))
    assert query is not None
    assert query[0].route.name == "query_case"
    assert query[1] == {"case_id": "c-1"}


async def _run(app_or_router: Any, scope: Scope) -> tuple[object, list[Message]]:
    """Run ``scope`` through an ASGI app below the app's middleware: (what it raised, sent)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async with AsyncExitStack() as stack:
        scope["fastapi_middleware_astack"] = stack
        try:
            await app_or_router(scope, receive, send)
        except Exception as error:  # the problem an anonymous call raises
            return (type(error), repr(error)), sent
    return None, sent


# FastAPI's exit stacks for dependencies with ``yield``: a route that fits
# gateway/api/lean_route.py has none, and its plain requests run without them.
LEAN_OMITS = frozenset({"fastapi_inner_astack", "fastapi_function_astack"})


def _routing_part(scope: Scope) -> dict[str, Any]:
    keys = ("route", "endpoint", "path_params", "router", "fastapi", "type", "path")
    kept = sorted(key for key in scope if key not in LEAN_OMITS)
    return {key: scope.get(key) for key in keys} | {"keys": kept}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_dispatched_request_carries_what_fastapis_router_gives_it(app: FastAPI) -> None:
    dispatch = _dispatch(app)
    partner = [
        c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, PartnerRoute)
    ]
    for context in partner:
        for method in context.methods:
            path = _concrete(context.path, "c-0123456789abcdefghij")
            assert dispatch.select(_scope(app, method, path)) is not None
            ours, theirs = _scope(app, method, path), _scope(app, method, path)
            outcome = await _run(dispatch, ours)
            expected = await _run(dispatch.fallback, theirs)
            assert outcome == expected, (method, path)
            assert outcome[0] is not None  # anonymous: refused before the endpoint runs
            assert _routing_part(ours) == _routing_part(theirs), (method, path)
            assert ours["route"] is context.original_route


def _two_routers() -> tuple[FastAPI, APIRouter, RouteDispatch, Any, Any]:
    """An app with ``/v1/a/one`` in a first router and ``/v1/a/{name}`` in a second."""
    app = FastAPI()
    first, second = APIRouter(), APIRouter()

    @first.get("/v1/a/one")
    def one() -> str:
        return "one"

    @second.get("/v1/a/{name}")
    def named(name: str) -> str:
        return name

    app.include_router(first)
    app.include_router(second)
    dispatch = install_route_dispatch(app)
    assert dispatch is not None
    return app, first, dispatch, one, named


def test_routes_added_after_the_first_request_are_seen() -> None:
    """A route added later to an earlier router goes before a later router's: so must the table."""
    app, first, dispatch, _, named = _two_routers()
    before = dispatch.select(_scope(app, "GET", "/v1/a/two"))
    assert before is not None
    assert before[0].route.endpoint is named

    @first.get("/v1/a/two")
    def two() -> str:
        return "two"

    after = dispatch.select(_scope(app, "GET", "/v1/a/two"))
    assert after is not None
    assert after[0].route.endpoint is two
    reference = _fastapi_pick(app, _scope(app, "GET", "/v1/a/two"))
    assert reference is not None
    assert reference[0].original_route is after[0].route

    @app.get("/v1/b/{n}")
    def late(n: int) -> int:
        return n

    assert dispatch.select(_scope(app, "GET", "/v1/b/7")) is None  # not an included router's
    picked_late = _fastapi_pick(app, _scope(app, "GET", "/v1/b/7"))
    assert picked_late is not None
    assert picked_late[0].original_route.endpoint is late


def test_a_route_removed_from_an_included_router_is_dispatched_as_fastapi_does() -> None:
    """The table is checked against every router's routes, their count included."""
    app, first, dispatch, one, _ = _two_routers()
    picked = dispatch.select(_scope(app, "GET", "/v1/a/one"))
    assert picked is not None
    assert picked[0].route.endpoint is one
    first.routes.clear()  # no version bump: only the count tells
    after = dispatch.select(_scope(app, "GET", "/v1/a/one"))
    reference = _fastapi_pick(app, _scope(app, "GET", "/v1/a/one"))
    assert reference is not None
    assert after is not None
    assert after[0].route is reference[0].original_route  # whatever FastAPI now picks


def test_converted_path_parameters_are_fastapis() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/v1/n")

    @router.get("/{number:int}/{rest:path}")
    def numbered(number: int, rest: str) -> int:
        return number

    app.include_router(router)
    dispatch = install_route_dispatch(app)
    assert dispatch is not None
    scope = _scope(app, "GET", "/v1/n/7/a/b")
    selected = dispatch.select(scope)
    reference = _fastapi_pick(app, scope)
    assert selected is not None
    assert reference is not None
    assert selected[1] == reference[1]["path_params"] == {"number": 7, "rest": "a/b"}
    assert dispatch.select(_scope(app, "GET", "/v1/n/x/a")) is None


async def _asgi(scope: Scope, receive: Any, send: Any) -> None:
    """An ASGI app that is never called here."""


def _same_or_left(app: FastAPI, dispatch: RouteDispatch, path: str) -> bool:
    """Whether ``path`` is in the table (asserting FastAPI's pick), False when left to FastAPI."""
    scope = _scope(app, "GET", path)
    selected = dispatch.select(scope)
    if selected is None:
        return False
    reference = _fastapi_pick(app, scope)
    assert reference is not None
    assert reference[0].original_route is selected[0].route
    return True


def test_a_key_a_mount_or_a_starlette_route_may_take_is_left_to_fastapi() -> None:
    app = FastAPI()
    api = APIRouter()

    @api.get("/v1/m/x")
    def under_mount() -> str:
        return "x"

    @api.get("/v1/p/q")
    def under_route() -> str:
        return "q"

    @api.get("/v1/free/z")
    def free() -> str:
        return "z"

    app.mount("/v1/m", _asgi)
    app.add_route("/v1/p/q", lambda request: None)
    app.include_router(api)
    dispatch = install_route_dispatch(app)
    assert dispatch is not None
    assert not _same_or_left(app, dispatch, "/v1/m/x")
    assert not _same_or_left(app, dispatch, "/v1/p/q")
    assert _same_or_left(app, dispatch, "/v1/free/z")


def test_a_route_class_that_matches_on_its_own_is_left_to_fastapi() -> None:
    """A route whose class decides in ``matches`` (here: only with a header) is
    never picked by the table's pattern match, nor is any key it could share."""

    class HeaderOnly(APIRoute):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            if (b"x-only", b"1") not in scope.get("headers", []):
                return Match.NONE, {}
            return super().matches(scope)

    app = FastAPI()
    guarded = APIRouter(route_class=HeaderOnly)

    @guarded.get("/v1/guarded/thing")
    def thing() -> str:
        return "thing"

    plain = APIRouter()

    @plain.get("/v1/free/z")
    def free() -> str:
        return "z"

    app.include_router(guarded)
    app.include_router(plain)
    dispatch = install_route_dispatch(app)
    assert dispatch is not None
    assert not _same_or_left(app, dispatch, "/v1/guarded/thing")
    assert _same_or_left(app, dispatch, "/v1/free/z")


class _Guarded(APIRoute):
    """A route class with a check in front of FastAPI's handler."""

    def get_route_handler(self) -> Any:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Any:
            if request.headers.get("x-api-key") != "k":
                raise HTTPException(401, "guard")
            return await inner(request)

        return handler


class _In(BaseModel):
    a: int


class _Out(BaseModel):
    x: int


def test_a_route_class_with_its_own_handler_keeps_it_on_the_lean_path() -> None:
    """A route class that wraps FastAPI's handler (its documented way to put a check
    in front of a route) keeps that check for a plain JSON request. Before: the lean
    path ran the endpoint without it (attacker's review: 200 instead of 401)."""
    router = APIRouter(route_class=_Guarded)

    @router.post("/v1/g/{n}", response_model=_Out)
    async def guarded(n: int, body: _In) -> dict[str, int]:
        return {"x": body.a + n}

    app = FastAPI()
    app.include_router(router)
    assert install_route_dispatch(app) is not None
    client = TestClient(app)
    assert client.post("/v1/g/1", json={"a": 1}).status_code == 401
    answer = client.post("/v1/g/1", json={"a": 1}, headers={"x-api-key": "k"})
    assert answer.status_code == 200 and answer.json() == {"x": 2}


def test_a_nested_include_leaves_every_key_to_fastapi() -> None:
    app = FastAPI()
    outer, inner, api = APIRouter(), APIRouter(), APIRouter()

    @inner.get("/v1/inner/{name}")
    def nested(name: str) -> str:
        return name

    @api.get("/v1/free/z")
    def free() -> str:
        return "z"

    outer.include_router(inner)
    app.include_router(outer)
    app.include_router(api)
    dispatch = install_route_dispatch(app)
    assert dispatch is not None
    assert not _same_or_left(app, dispatch, "/v1/inner/y")
    assert not _same_or_left(app, dispatch, "/v1/free/z")


def test_no_table_where_the_router_does_more_than_pick_a_route() -> None:
    app = FastAPI()
    app.router.middleware_stack = _NoOp(app.router.app)
    assert install_route_dispatch(app) is None


class _NoOp:
    """Router middleware: a router with it runs more than the route."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@contextmanager
def _fastapi_routing(app: FastAPI) -> Iterator[None]:
    """Take the table out for a while: FastAPI's router alone routes."""
    dispatch = _dispatch(app)
    app.router.middleware_stack = dispatch.fallback
    try:
        yield
    finally:
        app.router.middleware_stack = dispatch


def _answer(response: httpx.Response) -> tuple[int, str, str | None, str | None]:
    problem_type = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        problem_type = response.json().get("type")
    kind = response.headers.get("content-type", "").split(";")[0]
    return response.status_code, kind, response.headers.get("allow"), problem_type


def test_every_route_answers_as_before_over_http(stack: Stack) -> None:
    """Anonymous calls to every route and method (and a wrong one) with and without the table."""
    requests: list[tuple[str, str]] = []
    for context in iter_route_contexts(stack.app.routes):
        if not context.path:
            continue
        path = _concrete(context.path, "c-0123456789abcdefghij")
        for method in [*sorted(context.methods or {"GET"}), "DELETE"]:
            requests.append((method, path))
    requests += [("POST", path) for path in NEAR_MISSES]
    with httpx.Client(base_url=stack.base_url, timeout=30, follow_redirects=False) as client:
        for method, path in requests:
            answer = _answer(client.request(method, path))
            with _fastapi_routing(stack.app):
                assert _answer(client.request(method, path)) == answer, (method, path)


def test_a_query_and_its_neighbours_answer_as_before(stack: Stack) -> None:
    partner, case_id = open_demo_case(stack)
    query = f"/v1/cases/{case_id}/queries"
    body = {"categories": ["huisvesting"], "sources": ["gemeente-demo"]}
    headers = partner.headers()
    calls: list[tuple[str, str, Any, dict[str, str], int]] = [
        ("POST", query, body, headers, 200),
        ("GET", query, None, headers, 405),
        ("POST", query, {"categories": "huisvesting"}, headers, 422),
        ("POST", query, body, {}, 401),
        ("POST", query, body, {**headers, "X-Ketenpoort-Employee": "999999990"}, 400),
        ("POST", f"/v1/cases/{case_id}/querie", body, headers, 404),
        ("POST", f"/v1/cases/{case_id}/queries/", body, headers, 307),
        ("POST", "/v1/cases/C-1/queries", body, headers, 422),
        ("GET", f"/v1/cases/{case_id}", None, headers, 200),
        ("PUT", f"/v1/cases/{case_id}", None, headers, 405),
    ]
    http = partner.http
    for method, path, json, sent_headers, status in calls:
        answer = http.request(method, path, json=json, headers=sent_headers)
        with _fastapi_routing(stack.app):
            again = http.request(method, path, json=json, headers=sent_headers)
        assert _answer(answer) == _answer(again), (method, path, answer.text, again.text)
        assert answer.status_code == status, (method, path, answer.text)
    answered = http.post(query, json=body, headers=headers)
    assert answered.json()["case"] == case_id
    assert _answer(http.get(query, headers=headers))[:3] == (
        405,
        "application/problem+json",
        "POST",
    )
