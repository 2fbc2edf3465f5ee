"""The edge and the server span, attacked with what a caller controls: Host and path.

- The Host check took any text after one colon as a port: ``gateway.example:health/live``
  or ``gateway.example:@evil.example`` passed as ``gateway.example``; a bracketed
  address ignored whatever followed its ``]``.
- The SERVER span was skipped for any URL in which ``health/live`` or ``health/ready``
  occurs anywhere (the instrumentation searches its regex in scheme, Host and path), so a
  caller could keep a query out of the traces by writing that into its Host's port.
- The contained ``internal`` answer left without ``Cache-Control: no-store``.

Each failed before its fix (branch ``review``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.api.edge import Edge
from gateway.api.errors import install_error_handlers
from gateway.settings import Settings
from gateway.telemetry import instrument_app, setup_telemetry

HOST = "gateway.example"


def _app(spans: InMemorySpanExporter | None = None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/v1/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    @app.get("/health/live")
    def live() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(Edge, hosts=[HOST, "::1"])
    if spans is not None:
        instrument_app(
            app, setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(spans),))
        )
    return app


def _call(app: FastAPI, path: str, host: str) -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host.encode())],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "app": app,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)

    asyncio.run(run())
    start = sent[0]
    return int(start["status"]), dict(start["headers"])


@pytest.mark.parametrize(
    "host",
    [
        "gateway.example:health/live",
        "gateway.example:@evil.example",
        "gateway.example:80@evil.example",
        "gateway.example: 80",
        "[::1]health/live",
        "[::1]:@evil.example",
        "[::1",
    ],
)
def test_a_host_whose_port_is_not_a_number_is_refused(host: str) -> None:
    assert _call(_app(), "/v1/ping", host)[0] == 400


@pytest.mark.parametrize(
    "host",
    ["gateway.example", "GATEWAY.example:8443", "gateway.example:", "[::1]:8080", "[::1]", "::1"],
)
def test_a_host_with_or_without_a_port_is_taken(host: str) -> None:
    assert _call(_app(), "/v1/ping", host)[0] == 200


def test_only_the_probes_go_without_a_server_span() -> None:
    spans = InMemorySpanExporter()
    app = _app(spans)
    spans.clear()
    assert _call(app, "/v1/ping", HOST)[0] == 200
    assert _call(app, "/nothing/health/live", HOST)[0] == 404
    assert _call(app, "/health/live", HOST)[0] == 200
    server = [s.name for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server == ["GET /v1/ping", "GET"], server


def test_the_contained_internal_answer_is_not_stored() -> None:
    status, headers = _call(_app(), "/v1/boom", HOST)
    assert status == 500
    assert headers[b"content-type"].startswith(b"application/problem+json")
    assert headers.get(b"cache-control") == b"no-store"
