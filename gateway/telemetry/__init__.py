"""OpenTelemetry traces and metrics.

Providers are process-wide in OpenTelemetry, so they are set up once per
process; each app instance is instrumented against them. The trace id of the
current span is what every audit entry records (Logboek Dataverwerkingen); it is
always one the gateway generated: an inbound ``traceparent`` becomes a span
link, never the parent (gateway.tracecontext). URL attributes of server and
client spans carry no query values (gateway.redaction). The SERVER span of each
request is made by :class:`gateway.telemetry.server.ServerSpans`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.instrumentation.fastapi.version import (
    __version__ as fastapi_instrumentation_version,
)
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from gateway import __version__
from gateway.redaction import install_access_log_redaction, redact_span
from gateway.settings import Settings
from gateway.spans import SPAN_KEY, SPAN_TYPES, is_span
from gateway.telemetry.routes import RouteNames
from gateway.telemetry.sampling import lean_sampler
from gateway.telemetry.server import ServerSpans
from gateway.tracecontext import OwnTraceOnly

__all__ = [
    "SERVER_SCHEMA_URL",
    "SERVER_SCOPE",
    "SERVICE_NAME",
    "RouteNames",
    "Telemetry",
    "current_trace_ids",
    "instrument_app",
    "new_meter_provider",
    "setup_telemetry",
    "trace_ids",
]

SERVICE_NAME = "ketenpoort"
# The server spans' instrumentation scope, as opentelemetry-instrumentation-fastapi names it,
# and the schema of the HTTP conventions its attributes follow (its default mode).
SERVER_SCOPE = "opentelemetry.instrumentation.fastapi"
SERVER_SCHEMA_URL = "https://opentelemetry.io/schemas/1.11.0"
_lock = threading.Lock()
_telemetry: Telemetry | None = None


@dataclass(frozen=True)
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider


def new_meter_provider(
    resource: Resource, readers: list[MetricReader], *, exemplars: bool = False
) -> MeterProvider:
    """The meter provider, without exemplars unless ``KETENPOORT_METRIC_EXEMPLARS`` asks for them.

    The SDK's default (trace-based) filter looks up the current span on every
    recorded measurement to decide whether to keep it as an exemplar; nothing
    here reads exemplars (the compose collector writes metrics to a file).
    """
    return MeterProvider(
        resource=resource,
        metric_readers=readers,
        exemplar_filter=TraceBasedExemplarFilter() if exemplars else AlwaysOffExemplarFilter(),
    )


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
        # The sampler the SDK chose from OTEL_TRACES_SAMPLER; its default, leaner.
        tracer_provider.sampler = lean_sampler(tracer_provider.sampler)
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
        meter_provider = new_meter_provider(resource, readers, exemplars=settings.metric_exemplars)
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        propagate.set_global_textmap(OwnTraceOnly())
        HTTPXClientInstrumentor().instrument(
            tracer_provider=tracer_provider, request_hook=_client_request_hook
        )
        _telemetry = Telemetry(tracer_provider, meter_provider)
        return _telemetry


def _client_request_hook(span: trace.Span, _request: Any) -> None:
    redact_span(span)


def instrument_app(app: FastAPI, telemetry: Telemetry) -> None:
    """The SERVER span of every request (but the health probes), outermost of the app's own.

    :class:`ServerSpans`, with the tracer and meter ``FastAPIInstrumentor`` would
    use (same scope name, version and schema), in place of its middleware: see
    gateway/telemetry/server.py for what it keeps and what it costs less.
    Added last, so it is the outermost user middleware: an error in it still
    gets the app's problem+json 500.

    FastAPI's own telemetry is switched off for the app (``create_app`` does so
    too): it stands down only for OpenTelemetry's ASGI middleware, and would
    otherwise make a second SERVER span per request that adopts the caller's
    ``traceparent`` as parent and copies query values in clear.
    """
    install_access_log_redaction()
    native: Any = getattr(app, "_telemetry", None)  # FastAPI's TelemetryConfig, where it has one
    if isinstance(native, dict):
        native.update(tracing=False, metrics=False, logs=False, operation_spans=False)
    app.add_middleware(
        ServerSpans,
        names=RouteNames(app),
        tracer=trace.get_tracer(
            SERVER_SCOPE,
            fastapi_instrumentation_version,
            telemetry.tracer_provider,
            schema_url=SERVER_SCHEMA_URL,
        ),
        meter=metrics.get_meter(
            SERVER_SCOPE,
            fastapi_instrumentation_version,
            telemetry.meter_provider,
            schema_url=SERVER_SCHEMA_URL,
        ),
    )


def current_trace_ids() -> tuple[str | None, str | None]:
    """(trace_id, span_id) of the active span as lowercase hex, or Nones."""
    # get_current_span() inlined as in gateway.telemetry.sampling: two calls less.
    span: Any = otel_context.get_current().get(SPAN_KEY)  # a Span once checked below
    if span is None or (type(span) not in SPAN_TYPES and not is_span(span)):
        return None, None
    return trace_ids(span)


def trace_ids(span: trace.Span) -> tuple[str | None, str | None]:
    """(trace_id, span_id) of ``span`` as lowercase hex, or Nones: for a span at hand.

    A SpanContext is the tuple (trace id, span id, remote, flags, state, valid):
    unpacked, its fields cost no property call each; an SDK span's is read as
    ``ReadableSpan.context`` (``get_span_context`` adds a ``typing.cast`` call).
    """
    context = span.context if isinstance(span, ReadableSpan) else span.get_span_context()
    trace_id, span_id, _, _, _, valid = context
    if not valid:
        return None, None
    return format(trace_id, "032x"), format(span_id, "016x")
