"""OpenTelemetry traces and metrics.

Providers are process-wide in OpenTelemetry, so they are set up once per
process; each app instance is instrumented against them. The trace id of the
current span is what every audit entry records (Logboek Dataverwerkingen); it is
always one the gateway generated: an inbound ``traceparent`` becomes a span
link, never the parent (gateway.tracecontext). URL attributes of server and
client spans carry no query values (gateway.redaction).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from opentelemetry import metrics, propagate, trace
from opentelemetry.instrumentation._semconv import (
    _get_schema_url,
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
)
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.fastapi.version import (
    __version__ as fastapi_instrumentation_version,
)
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from opentelemetry.util.http import ExcludeList, sanitize_method
from starlette._utils import get_route_path
from starlette.routing import Mount
from starlette.types import Scope

from gateway import __version__
from gateway.redaction import install_access_log_redaction, redact_span
from gateway.settings import Settings
from gateway.tracecontext import OwnTraceOnly, link_caller

SERVICE_NAME = "ketenpoort"
# The server spans' instrumentation scope, as opentelemetry-instrumentation-fastapi names it.
SERVER_SCOPE = "opentelemetry.instrumentation.fastapi"
# Only the probes' own paths: the instrumentation searches these in scheme://Host/path, so
# a bare "health/live" let a caller drop the span of any request through its Host or path.
EXCLUDED_URLS = ExcludeList([r"\A[a-z]+://[^/]*/health/(?:live|ready)\Z"])
_lock = threading.Lock()
_telemetry: Telemetry | None = None


@dataclass(frozen=True)
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider


def setup_telemetry(
    settings: Settings,
    *,
    extra_span_processors: tuple[SpanProcessor, ...] = (),
    extra_metric_readers: tuple[MetricReader, ...] = (),
) -> Telemetry:
    """Install the process-wide providers once; later calls return the same ones."""
    global _telemetry  # noqa: PLW0603 - providers are process-wide by OpenTelemetry's design
    with _lock:
        if _telemetry is not None:
            for processor in extra_span_processors:
                _telemetry.tracer_provider.add_span_processor(processor)
            return _telemetry
        resource = Resource.create({"service.name": SERVICE_NAME, "service.version": __version__})
        tracer_provider = TracerProvider(resource=resource)
        readers: list[MetricReader] = list(extra_metric_readers)
        if settings.otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = settings.otlp_endpoint.rstrip("/")
            tracer_provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
            )
            readers.append(
                PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))
            )
        for processor in extra_span_processors:
            tracer_provider.add_span_processor(processor)
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        propagate.set_global_textmap(OwnTraceOnly())
        HTTPXClientInstrumentor().instrument(
            tracer_provider=tracer_provider, request_hook=_client_request_hook
        )
        _telemetry = Telemetry(tracer_provider, meter_provider)
        return _telemetry


def _server_request_hook(span: trace.Span, scope: dict[str, Any]) -> None:
    """Each server span: the caller's trace as a link, and no query values in URL attributes."""
    link_caller(span, scope)
    redact_span(span)


def _client_request_hook(span: trace.Span, _request: Any) -> None:
    redact_span(span)


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

    def __call__(self, scope: Scope) -> tuple[str, dict[str, str]]:
        route = self.route(scope)
        method = sanitize_method(str(scope.get("method", "")).strip())
        if method == "_OTHER":
            method = "HTTP"
        attributes = {HTTP_ROUTE: route} if route else {}
        if method and route:
            return f"{method} {route}", attributes
        return route or method, attributes


def instrument_app(app: FastAPI, telemetry: Telemetry) -> None:
    """The SERVER span of every request (but the health probes), outermost of the app's own.

    What ``FastAPIInstrumentor.instrument_app`` installs, the same middleware
    with the same tracer, meter and hooks, minus what it costs per request:
    its route scan (see :class:`RouteNames`), its two wrapping layers (a
    second ``ServerErrorMiddleware`` and one that records an exception's
    message on the span, which the containment in gateway/api/edge.py never
    lets through) and the ``http send``/``http receive`` child spans.
    Added last, so it is the outermost user middleware: an error in it still
    gets the app's problem+json 500.
    """
    install_access_log_redaction()
    _OpenTelemetrySemanticConventionStability._initialize()  # type: ignore[no-untyped-call]
    mode = _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
        _OpenTelemetryStabilitySignalType.HTTP
    )
    schema_url = _get_schema_url(mode)
    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls=EXCLUDED_URLS,
        default_span_details=RouteNames(app),
        server_request_hook=_server_request_hook,
        # No INTERNAL span per ASGI receive and send message (three per query, each as
        # costly as the SERVER span itself); the SERVER span still carries the status.
        exclude_spans=["receive", "send"],
        tracer=trace.get_tracer(
            SERVER_SCOPE,
            fastapi_instrumentation_version,
            telemetry.tracer_provider,
            schema_url=schema_url,
        ),
        meter=metrics.get_meter(
            SERVER_SCOPE,
            fastapi_instrumentation_version,
            telemetry.meter_provider,
            schema_url=schema_url,
        ),
    )


def current_trace_ids() -> tuple[str | None, str | None]:
    """(trace_id, span_id) of the active span as lowercase hex, or Nones."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
