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
from opentelemetry import metrics, propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from gateway import __version__
from gateway.redaction import install_access_log_redaction, redact_span
from gateway.settings import Settings
from gateway.tracecontext import OwnTraceOnly, link_caller

SERVICE_NAME = "ketenpoort"
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


def instrument_app(app: FastAPI, telemetry: Telemetry) -> None:
    install_access_log_redaction()
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        excluded_urls="health/live,health/ready",
        server_request_hook=_server_request_hook,
    )


def current_trace_ids() -> tuple[str | None, str | None]:
    """(trace_id, span_id) of the active span as lowercase hex, or Nones."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
