"""No partner passes state to another through the gateway's HTTP clients (cookies).

Peer gateways, token endpoints and JWKS are asked through clients that live as
long as the gateway; an ordinary cookie jar would send what one of them set to
every other on the same host name, and back to the first on every later call.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.stack import Stack
from gateway.outbound import cookieless_jar
from tests.support.loopback import serve_app


def _partners(seen: list[str | None]) -> tuple[Starlette, Starlette]:
    async def setter(request: Request) -> Response:
        seen.append(request.headers.get("cookie"))
        return Response(b"{}", headers={"set-cookie": "k=from-a; Path=/; Max-Age=600"})

    async def reader(request: Request) -> Response:
        seen.append(request.headers.get("cookie"))
        return Response(b"{}")

    return (
        Starlette(routes=[Route("/x", setter, methods=["POST"])]),
        Starlette(routes=[Route("/x", reader, methods=["POST"])]),
    )


async def test_the_wired_partner_client_keeps_no_cookie(stack: Stack) -> None:
    client = stack.runtime.brokering.client
    seen: list[str | None] = []
    a, b = _partners(seen)
    with serve_app(a) as url_a, serve_app(b) as url_b:
        for url in (url_a, url_b, url_a, url_b):
            # Closed after each answer: no pooled connection outlives this test's loop.
            answer = await client.post(url + "/x", headers={"connection": "close"})
            answer.raise_for_status()

    assert seen == [None, None, None, None]


def test_a_client_with_the_cookieless_jar_keeps_no_cookie() -> None:
    seen: list[str | None] = []
    a, b = _partners(seen)
    with (
        serve_app(a) as url_a,
        serve_app(b) as url_b,
        httpx.Client(cookies=cookieless_jar()) as client,
    ):
        for url in (url_a, url_b, url_a, url_b):
            client.post(url + "/x").raise_for_status()

    assert seen == [None, None, None, None]
