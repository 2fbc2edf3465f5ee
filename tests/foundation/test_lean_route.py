"""A partner route's plain JSON request answers as FastAPI's own request handling does.

``gateway.api.lean_route.LeanRoute`` runs a plain request (``Content-Type:
application/json``, a body that parses and validates) of a fitting route
without FastAPI's request handler and dependency solving, and hands
everything else to the route's FastAPI app with the body read so far. Over
HTTP, against the served app, every request below is sent twice: through the
route table (and so the lean route) and through FastAPI's router alone. The
status, every header but ``date``, the problem type and the body (ids that
differ per query masked) must be the same, for good input and hostile input:
other content types, empty, ``null``, malformed, non-UTF-8 and deeply nested
bodies, unknown fields, a missing or invalid token (and which error wins
against a bad body), a BSN in the employee header or in the URL, a wrong Host,
oversized bodies with and without ``Content-Length``, a stale session cookie.
The plain query and a refused one write the same audit entries either way (each
on a fresh stack), and
the plain query does not reach FastAPI's handler while the hostile ones do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from gateway.api.lean_route import LeanRoute
from gateway.api.route_dispatch import RouteDispatch
from gateway.demo.stack import Stack
from tests.brokering.support import audit_entries
from tests.support.stack import open_demo_case

MASKED = ("query_id", "trace_id", "correlation_id")
# Plain requests: the lean route answers them (a refusal included) without FastAPI's handler.
LEAN = (
    "plain",
    "unknown case",
    "unknown category",
    "no token",
    "invalid token",
    "employee is a BSN",
    "stale session",
)
BODY = b'{"categories": ["huisvesting"], "sources": ["gemeente-demo"]}'


@contextmanager
def _fastapi_routing(app: FastAPI) -> Iterator[None]:
    """Take the table (and with it the lean route) out: FastAPI's router alone routes."""
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, RouteDispatch)
    app.router.middleware_stack = dispatch.fallback
    try:
        yield
    finally:
        app.router.middleware_stack = dispatch


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "*" if k in MASKED else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "date"]
    try:
        body: Any = _mask(response.json())
    except ValueError:
        body = response.content
    if any(k in MASKED for k in (body if isinstance(body, dict) else {})):
        headers = [(k, v) for k, v in headers if k != "content-length"]
    return response.status_code, headers, body


class _Counting:
    """Around FastAPI's route app: how many requests the lean route handed it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def _lean_query_route(app: FastAPI, path: str) -> LeanRoute:
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, RouteDispatch)
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": []}
    selected = dispatch.select(scope)
    assert selected is not None
    lean = selected[0].app
    assert isinstance(lean, LeanRoute)
    return lean


def _requests(
    query: str, case_id: str, headers: dict[str, str], limit: int
) -> list[tuple[str, str, Any, list[tuple[str, str]]]]:
    json_type = [("content-type", "application/json")]
    auth = [(k, v) for k, v in headers.items() if k.lower() != "content-type"]
    plain = auth + json_type

    def chunks() -> Iterator[bytes]:
        yield b'{"categories": ["' + b"a" * limit
        yield b'"]}'

    return [
        ("plain", query, BODY, plain),
        ("charset", query, BODY, [*auth, ("content-type", "application/json; charset=utf-8")]),
        ("upper case type", query, BODY, [*auth, ("content-type", "Application/JSON")]),
        ("problem+json", query, BODY, [*auth, ("content-type", "application/problem+json")]),
        ("text/plain", query, BODY, [*auth, ("content-type", "text/plain")]),
        ("no type", query, BODY, auth),
        ("two types", query, BODY, [*auth, ("content-type", "text/plain"), *json_type]),
        ("empty", query, b"", plain),
        ("null", query, b"null", plain),
        ("vertical tab null", query, b"\x0bnull", plain),
        ("malformed", query, b'{"categories": [', plain),
        ("not utf-8", query, b'{"categories": ["\xff"]}', plain),
        ("deep", query, b"[" * 100_000 + b"]" * 100_000, plain),
        ("unknown field", query, b'{"categories": ["huisvesting"], "x": 1}', plain),
        ("wrong type", query, b'{"categories": "huisvesting"}', plain),
        ("no token", query, BODY, json_type),
        ("no token, malformed", query, b"{", json_type),
        ("no token, invalid", query, b'{"categories": 1}', json_type),
        ("invalid token", query, BODY, [("authorization", "Bearer abc"), *json_type]),
        (
            "employee is a BSN",
            query,
            BODY,
            [(k, "999999990" if k.lower() == "x-ketenpoort-employee" else v) for k, v in plain],
        ),
        ("BSN in the URL", "/v1/cases/999999990/queries", BODY, plain),
        ("unknown case", "/v1/cases/c-0123456789abcdefghij/queries", BODY, plain),
        ("unknown category", query, b'{"categories": ["nope"]}', plain),
        ("wrong Host", query, BODY, [*plain, ("host", "evil.example")]),
        ("too large", query, b"{" + b" " * limit + b"}", plain),
        ("too large, chunked", query, chunks, plain),
        ("stale session", query, BODY, [*plain, ("cookie", "ketenpoort_session=stale")]),
        ("no body route", f"/v1/cases/{case_id}", None, auth),
    ]


def test_plain_and_hostile_requests_answer_as_fastapi_does(stack: Stack) -> None:
    partner, case_id = open_demo_case(stack)
    query = f"/v1/cases/{case_id}/queries"
    lean = _lean_query_route(stack.app, query)
    counting = _Counting(lean.fallback)
    lean.fallback = counting
    http = partner.http
    limit = stack.settings.max_body_bytes
    try:
        for name, path, content, headers in _requests(query, case_id, partner.headers(), limit):
            method = "GET" if content is None else "POST"
            before = counting.calls
            sent = content() if callable(content) else content  # a generator: one per request
            answer = _answer(http.request(method, path, content=sent, headers=headers))
            handed_over = counting.calls - before
            sent = content() if callable(content) else content
            with _fastapi_routing(stack.app):
                again = _answer(http.request(method, path, content=sent, headers=headers))
            assert answer == again, name
            if name in LEAN:
                assert handed_over == 0, name  # the lean route answered (or refused) itself
            elif path == query and name not in ("wrong Host", "too large"):
                assert handed_over == 1, name  # FastAPI answered, as it always did
            if name == "plain":
                assert answer[0] == 200, answer
    finally:
        lean.fallback = counting.app


@pytest.mark.parametrize("routing", ["lean", "fastapi"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BODY, [("disclosure", "ok", "permitted")]),
        (
            b'{"categories": ["huisvesting"], "subject": "s9"}',
            [("decision", "denied", "unknown_subject")],
        ),
    ],
    ids=["answered", "refused"],
)
def test_the_same_audit_entries_either_way(
    stack: Stack, body: bytes, expected: list[tuple[str, str, str]], routing: str
) -> None:
    """Each on a stack of its own: a repeated refusal is not logged twice."""
    partner, case_id = open_demo_case(stack)
    headers = {**partner.headers(), "content-type": "application/json"}
    seen = len(audit_entries(stack, case_id))
    path = f"/v1/cases/{case_id}/queries"
    if routing == "lean":
        partner.http.post(path, content=body, headers=headers)
    else:
        with _fastapi_routing(stack.app):
            partner.http.post(path, content=body, headers=headers)
    new = audit_entries(stack, case_id)[seen:]
    assert [(e["kind"], e["outcome"], e.get("reason")) for e in new] == expected
