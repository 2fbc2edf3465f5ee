"""gateway.outbound: every exchange outside the source and peer paths is bounded in all.

A per-read timeout let a server that drips a byte at a time hold the caller for
ever; a gzipped answer was inflated whole before its size was checked (review).
The dripping servers here would go on for 30 s; each exchange must end long
before (its bound is a fraction of a second), checked as "still running?" after
a wait twenty times the bound, not as a timing.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.outbound import OutboundRefused, bounded_exchange, run_exchange
from tests.reliability.rawserver import Mode, ends_within, gzip_bomb, raw_server
from tests.support.loopback import serve_app

BOUND_S = 0.5


def _exchange(url: str, max_bytes: int = 64 * 1024) -> object:
    def exchange(client: httpx.AsyncClient) -> object:
        return bounded_exchange(client, "GET", url, timeout_s=BOUND_S, max_bytes=max_bytes)

    return run_exchange(exchange)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["drip_head", "drip_body"])
@pytest.mark.parametrize("max_bytes", [0, 64 * 1024], ids=["status-only", "body"])
def test_a_dripping_server_is_abandoned_at_the_bound(mode: Mode, max_bytes: int) -> None:
    with raw_server(mode) as url:
        outcome = ends_within(lambda: _exchange(url, max_bytes), 20 * BOUND_S)

    if mode == "drip_body" and max_bytes == 0:
        assert getattr(outcome, "status", None) == 200  # the head came; the body is not read
    else:
        assert isinstance(outcome, OutboundRefused) and outcome.reason == "timeout"


def test_a_compressed_answer_is_refused_before_it_is_inflated() -> None:
    gzip_bomb()  # made (50 MB of zeros) before measuring: the server runs in this process
    with raw_server("gzip_bomb") as url:
        tracemalloc.start()
        try:
            with pytest.raises(OutboundRefused) as caught:
                _exchange(url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert caught.value.reason == "encoded"
    assert peak < 8 * 1024 * 1024  # 50 MB if inflated


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_over_the_bound_is_too_large(chunked: bool) -> None:
    body = b"x" * 10_000

    async def big(request: Request) -> Response:
        assert request.headers["accept-encoding"] == "identity"
        if chunked:

            async def parts() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 1000):
                    yield body[start : start + 1000]

            return StreamingResponse(parts())
        return Response(body)

    app = Starlette(routes=[Route("/x", big)])
    with serve_app(app) as url, pytest.raises(OutboundRefused) as caught:
        _exchange(url + "/x", max_bytes=5_000)

    assert caught.value.reason == "too_large"


def test_an_answer_within_the_bound_comes_whole() -> None:
    async def small(request: Request) -> Response:
        return Response(b'{"keys": []}', status_code=201, media_type="application/json")

    with serve_app(Starlette(routes=[Route("/x", small)])) as url:
        answer = _exchange(url + "/x")

    assert (answer.status, answer.body) == (201, b'{"keys": []}')  # type: ignore[attr-defined]


def test_unreachable_is_unreachable() -> None:
    with raw_server("reset") as url:
        port = url.rsplit(":", 1)[1]
    with pytest.raises(OutboundRefused) as caught:
        _exchange(f"http://127.0.0.1:{port}/x")

    assert caught.value.reason == "unreachable"
