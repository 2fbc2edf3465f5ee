"""The SERVER span and its metric (gateway/telemetry/server.py), pinned.

Name, scope, every attribute and the status of a request's span; the caller's
``traceparent`` as a link with ids only, never the parent; the one
``http.server.duration`` record with its attributes and no exemplar; and no BSN
a caller puts anywhere in a request (Host, path, query name or value, User-Agent,
``tracestate``) in any span or metric attribute. The app is wired like the
gateway's (``Edge`` inside, ``instrument_app`` outermost), with providers of its own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.api.edge import Edge
from gateway.api.errors import install_error_handlers
from gateway.telemetry import (
    SERVER_SCHEMA_URL,
    SERVER_SCOPE,
    Telemetry,
    current_trace_ids,
    instrument_app,
    new_meter_provider,
)
from gateway.telemetry.server import request_attributes
from gateway.tracecontext import caller_trace_id

HOST = "gateway.example"
BSN = "111222333"  # the shape is what counts: eight or more digits
PERCENT = "".join(f"%{byte:02X}" for byte in BSN.encode())
QUERY_PATH = "/v1/cases/{case_id}/queries"


@dataclass
class Served:
    app: FastAPI
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def call(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: tuple[tuple[str, str], ...] = (),
        host: str = f"{HOST}:8443",
    ) -> tuple[int, dict[str, Any]]:
        """One request through the app as uvicorn hands it over; (status, JSON body)."""
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", host.encode())]
            + [(k.lower().encode(), v.encode()) for k, v in headers],
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "app": self.app,
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(self.app(scope, receive, send))
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return int(sent[0]["status"]), json.loads(body) if body else {}

    def server_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.kind == SpanKind.SERVER]

    def duration_points(self) -> list[HistogramDataPoint]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        metrics = [
            (scope.scope, metric)
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        ]
        assert [(s.name, m.name, m.unit) for s, m in metrics] == [
            (SERVER_SCOPE, "http.server.duration", "ms")
        ]
        points = list(metrics[0][1].data.data_points)
        assert all(isinstance(p, HistogramDataPoint) for p in points)
        return points  # type: ignore[return-value]


@pytest.fixture
def served() -> Iterator[Served]:
    app = FastAPI()
    install_error_handlers(app)

    @app.post(QUERY_PATH)
    def query(case_id: str) -> dict[str, str | None]:
        trace_id, _ = current_trace_ids()
        return {"case": case_id, "trace_id": trace_id, "caller": caller_trace_id()}

    @app.get("/v1/boom")
    def boom() -> None:
        raise ValueError(f"lookup failed for {BSN}")

    @app.get("/health/live")
    def live() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(Edge, hosts=[HOST])
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "ketenpoort"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = new_meter_provider(Resource.create({}), [reader])
    instrument_app(app, Telemetry(tracer_provider, meter_provider))
    yield Served(app, spans, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def test_a_query_is_one_server_span_named_by_its_route(served: Served) -> None:
    status, body = served.call(
        "POST",
        "/v1/cases/c-1/queries",
        query="purpose=x&page=2",
        headers=(("user-agent", "zaaksysteem/1.0"), ("content-type", "application/json")),
    )
    assert status == 200
    [span] = served.server_spans()
    assert span.name == f"POST {QUERY_PATH}"
    assert span.parent is None and not span.links
    assert span.status.status_code is StatusCode.UNSET
    scope = span.instrumentation_scope
    assert scope is not None
    assert (scope.name, scope.schema_url) == (SERVER_SCOPE, SERVER_SCHEMA_URL)
    assert scope.version  # the fastapi instrumentation's version, as FastAPIInstrumentor sets it
    assert dict(span.attributes or {}) == {
        "http.scheme": "http",
        "http.host": "127.0.0.1:8000",
        "net.host.port": 8000,
        "http.flavor": "1.1",
        "http.method": "POST",
        "http.server_name": f"{HOST}:8443",
        "http.url": f"http://{HOST}:8443/v1/cases/c-1/queries?purpose=redacted&page=redacted",
        "http.target": "/v1/cases/c-1/queries",
        "http.user_agent": "zaaksysteem/1.0",
        "net.peer.ip": "127.0.0.1",
        "net.peer.port": 50000,
        "http.route": QUERY_PATH,
        "http.status_code": 200,
    }
    # The span is current while the app runs: the audit log records its trace id.
    assert body["trace_id"] == format(span.context.trace_id, "032x")
    assert body["caller"] is None


def test_an_unknown_path_is_named_by_its_method_and_the_probes_are_not_traced(
    served: Served,
) -> None:
    assert served.call("GET", "/nothing/here")[0] == 404
    assert served.call("GET", "/health/live")[0] == 200
    [span] = served.server_spans()
    assert span.name == "GET"
    attributes = dict(span.attributes or {})
    assert "http.route" not in attributes
    assert attributes["http.status_code"] == 404


def test_a_callers_trace_is_a_link_with_its_ids_only(served: Served) -> None:
    chosen, parent = secrets.token_hex(16), secrets.token_hex(8)
    status, body = served.call(
        "POST",
        "/v1/cases/c-1/queries",
        headers=(
            ("traceparent", f"00-{chosen}-{parent}-01"),
            ("tracestate", f"partner=bsn{BSN}"),
        ),
    )
    assert status == 200
    [span] = served.server_spans()
    assert span.parent is None, "the caller's span must never be the parent"
    assert format(span.context.trace_id, "032x") != chosen
    [link] = span.links
    assert format(link.context.trace_id, "032x") == chosen
    assert format(link.context.span_id, "016x") == parent
    assert not link.context.trace_state  # free text of the caller's tracer: not copied
    assert dict(link.attributes or {}) == {"ketenpoort.link": "caller"}
    assert body == {
        "case": "c-1",
        "trace_id": format(span.context.trace_id, "032x"),
        "caller": chosen,
    }


def test_a_traceparent_that_is_not_w3c_is_ignored(served: Served) -> None:
    status, body = served.call(
        "POST", "/v1/cases/c-1/queries", headers=(("traceparent", f"00-{BSN}-xyz-01"),)
    )
    assert status == 200
    [span] = served.server_spans()
    assert not span.links and span.parent is None
    assert body["caller"] is None


def test_one_duration_record_per_request_without_exemplars(served: Served) -> None:
    served.call("POST", "/v1/cases/c-1/queries")
    served.call("POST", "/v1/cases/c-2/queries")
    served.call("GET", "/nothing/here")
    common = {
        "http.scheme": "http",
        "http.host": "127.0.0.1:8000",
        "net.host.port": 8000,
        "http.flavor": "1.1",
    }
    points = {
        json.dumps(dict(p.attributes or {}), sort_keys=True): p for p in served.duration_points()
    }
    routed = {**common, "http.method": "POST", "http.status_code": 200, "http.target": QUERY_PATH}
    unrouted = {**common, "http.method": "GET", "http.status_code": 404}
    assert set(points) == {json.dumps(a, sort_keys=True) for a in (routed, unrouted)}
    assert points[json.dumps(routed, sort_keys=True)].count == 2
    assert all(not p.exemplars for p in points.values())


def test_a_caller_cannot_mint_metric_series_with_the_host_it_sends(served: Served) -> None:
    """Each Host a caller sends (refused by the Host check or not) is on its span,
    never a series of the duration metric: 50 made-up hosts, one series."""
    for n in range(50):
        served.call("GET", "/nothing/here", host=f"h{n}.example")
    points = served.duration_points()
    assert len(points) == 1 and points[0].count == 50
    assert "http.server_name" not in dict(points[0].attributes or {})
    names = {dict(s.attributes or {}).get("http.server_name") for s in served.server_spans()}
    assert {f"h{n}.example" for n in range(50)} <= names


def test_an_exception_is_an_error_by_type_name_only(served: Served) -> None:
    status, body = served.call("GET", "/v1/boom")
    assert status == 500 and body["correlation_id"]
    [span] = served.server_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError"  # the containment's, kept
    assert dict(span.attributes or {})["http.status_code"] == 500
    assert BSN not in span.to_json()


@pytest.mark.parametrize(
    ("where", "request_parts"),
    [
        ("host", {"host": f"dossier{BSN}.example"}),
        ("host with a port", {"host": f"{HOST}:{BSN}"}),
        ("path of a route", {"path": f"/v1/cases/{BSN}/queries"}),
        ("path of no route", {"path": f"/nothing/{BSN}"}),
        ("query value", {"query": f"subject={BSN}"}),
        ("query name", {"query": f"{BSN}=1"}),
        ("percent-encoded query name", {"query": f"{PERCENT}=1"}),
        ("query name with a plus", {"query": f"bsn+{BSN}"}),
        ("user agent", {"headers": (("user-agent", f"zaaksysteem ({BSN})"),)}),
        ("tracestate", {"headers": (("tracestate", f"p={BSN}"),)}),
    ],
)
def test_no_bsn_a_caller_sends_reaches_a_span_or_a_metric(
    served: Served, where: str, request_parts: dict[str, Any]
) -> None:
    parent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    headers = (("traceparent", parent), *request_parts.get("headers", ()))
    served.call(
        "POST",
        request_parts.get("path", "/v1/cases/c-1/queries"),
        query=request_parts.get("query", ""),
        headers=headers,
        host=request_parts.get("host", HOST),
    )
    assert served.server_spans(), where
    exported = "\n".join(s.to_json(indent=None) for s in served.spans.get_finished_spans())
    measured = json.dumps([dict(p.attributes or {}) for p in served.duration_points()])
    for form in (BSN, PERCENT, PERCENT.lower()):
        assert form not in exported, (where, exported)
        assert form not in measured, (where, measured)


@pytest.mark.parametrize(
    ("hosts", "path", "query", "url", "server_name", "target"),
    [
        # One Host: redacted once, shown as server name and as the URL's host.
        (
            [b"h123456789.example"],
            "/v1/x",
            b"",
            "http://hredacted.example/v1/x",
            "hredacted.example",
            "/v1/x",
        ),
        # User info in the Host: the server name keeps what was sent, the URL drops it.
        (
            [b"u12345678@h.example"],
            "/p",
            b"a=1",
            "http://h.example/p?a=redacted",
            "uredacted@h.example",
            "/p",
        ),
        # Two Host headers: both in the server name, the first in the URL.
        (
            [b"a.example", b"b12345678"],
            "/p",
            b"",
            "http://a.example/p",
            "a.example,bredacted",
            "/p",
        ),
        # A percent-encoded "?" is one in the scope's (decoded) path: the target is cut there.
        ([b"h"], "/p?123456789=1", b"", "http://h/p?redacted=1", "h", "/p?redacted=redacted"),
    ],
)
def test_each_value_is_redacted_once_and_shown_where_the_instrumentation_showed_it(
    hosts: list[bytes], path: str, query: bytes, url: str, server_name: str, target: str
) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "http_version": "1.1",
        "path": path,
        "query_string": query,
        "headers": [(b"host", host) for host in hosts],
        "server": ("10.0.0.1", 8000),
        "client": ("10.0.0.2", 5000),
    }
    attributes, _, _ = request_attributes(scope, "GET", None)
    assert attributes["http.url"] == url
    assert attributes["http.server_name"] == server_name
    assert attributes["http.target"] == target
    assert attributes["http.host"] == "10.0.0.1:8000"
