"""serve_app: the loopback server other tests rely on."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.loopback import serve_app


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hallo")


APP = Starlette(routes=[Route("/", hello)])


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_serves_real_http_and_frees_the_port_quickly() -> None:
    with serve_app(APP) as base_url:
        assert httpx.get(base_url).text == "hallo"
        with httpx.Client() as kept_alive:  # an open keep-alive must not stall shutdown
            kept_alive.get(base_url)
            port = int(base_url.rsplit(":", 1)[1])
            started = time.monotonic()
    assert time.monotonic() - started < 1.0
    assert _port_is_free(port)


def test_two_servers_get_different_ports() -> None:
    with serve_app(APP) as first, serve_app(APP) as second:
        assert first != second
        assert httpx.get(second).text == "hallo"


def test_server_stops_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), serve_app(APP) as base_url:
        raise RuntimeError("boom")
    assert _port_is_free(int(base_url.rsplit(":", 1)[1]))


def test_a_failing_startup_is_reported_not_hung() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("cannot start")
        yield

    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="failed to start"),
        serve_app(Starlette(lifespan=broken)),
    ):
        pass
    assert time.monotonic() - started < 5.0
