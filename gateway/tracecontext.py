"""Whose trace id the log records: the gateway's own, never one a caller sent.

A partner's ``traceparent`` header would otherwise become the parent of the
server span, and so the ``trace_id`` of every audit entry the request writes: a
caller could choose or forge the trace id in the log. :class:`OwnTraceOnly` is
the process-wide propagator: outbound it injects W3C trace context as usual (a
source still sees the gateway's trace). The gateway's server span
(gateway.telemetry.server) reads an inbound ``traceparent`` with
:func:`caller_link`: the caller's span context is kept aside in the request's
context, never made the parent; the server span gets it as a *link* and the
audit entry as ``caller_trace_id`` (labelled as what the caller claimed, not as
ours). Should OpenTelemetry's ASGI middleware ever extract a request's context
through the propagator again, :class:`OwnTraceOnly` does the same for it. Every
other extraction (the gateway's own code continuing its own trace) is plain W3C.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asgi import ASGIGetter
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

CALLER_SPAN_KEY = "ketenpoort.caller_span_context"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
CALLER_LINK_ATTRIBUTES = {"ketenpoort.link": "caller"}
_W3C = TraceContextTextMapPropagator()
# The W3C propagator ignores a longer traceparent but logs a warning each time:
# a caller could write the gateway's log full with one header. Refused here first.
MAX_TRACEPARENT = TraceContextTextMapPropagator._TRACEPARENT_MAXIMUM_LENGTH


def _claimed(extracted: Context) -> trace.SpanContext | None:
    """The caller's span context in a W3C extraction, ids only, or None if it sent none valid."""
    claimed = trace.get_current_span(extracted).get_span_context()
    return _ids_only(claimed) if claimed.is_valid else None


def caller_link(traceparent: str) -> tuple[Context, trace.Link] | None:
    """For a request that sent ``traceparent``: its context and the server span's link.

    The context (a fresh one) holds the caller's span context under
    :data:`CALLER_SPAN_KEY` and no parent span; the link points at the caller's
    trace by ids only. None when the header is not a valid W3C traceparent.
    """
    if len(traceparent) > MAX_TRACEPARENT:
        return None  # what the W3C propagator answers too, without its warning per request
    claimed = _claimed(_W3C.extract({"traceparent": traceparent}))
    if claimed is None:
        return None
    return (
        otel_context.set_value(CALLER_SPAN_KEY, claimed, Context()),
        trace.Link(claimed, CALLER_LINK_ATTRIBUTES),
    )


class OwnTraceOnly(TextMapPropagator):
    """W3C trace context out; in, the caller's context is kept aside, never made the parent."""

    def __init__(self) -> None:
        self._w3c = TraceContextTextMapPropagator()

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        inbound = isinstance(getter, ASGIGetter)  # a request to this server, from a caller
        if not inbound:
            return self._w3c.extract(carrier, context, getter)
        base = context if context is not None else Context()
        sent = getter.get(carrier, TRACEPARENT)
        if not sent or len(sent[0]) > MAX_TRACEPARENT:
            return base
        # The traceparent alone: the caller's tracestate is never a parent here, and the
        # W3C parser logs each bad tracestate member word for word (caller text in the log).
        claimed = _claimed(self._w3c.extract({TRACEPARENT: sent[0]}, Context()))
        if claimed is None:
            return base
        return otel_context.set_value(CALLER_SPAN_KEY, claimed, base)

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        self._w3c.inject(carrier, context, setter)

    @property
    def fields(self) -> set[str]:
        return self._w3c.fields


def inject_span(span: trace.Span, headers: MutableMapping[str, str]) -> None:
    """Writes ``span``'s trace context into ``headers`` as ``propagate.inject`` would, span current.

    With :class:`OwnTraceOnly` as the process-wide propagator (``setup_telemetry``
    installs it) the headers are built here from the span context already at
    hand, byte for byte what the W3C propagator writes: it would look the span up
    in the context and read each field through a property (~16 Python calls per
    source call). Any other propagator is asked as usual, with ``span`` current.
    """
    textmap = propagate.get_global_textmap()
    if type(textmap) is not OwnTraceOnly:
        textmap.inject(headers, trace.set_span_in_context(span))
        return
    # An SDK span's context as ReadableSpan.context: get_span_context adds a typing.cast call.
    context = span.context if isinstance(span, ReadableSpan) else span.get_span_context()
    if context == trace.INVALID_SPAN_CONTEXT:
        return
    # A SpanContext is the tuple (trace id, span id, remote, flags, state, valid).
    trace_id, span_id, _, flags, state, _ = context
    headers[TRACEPARENT] = f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"
    if state is not trace.DEFAULT_TRACE_STATE and state:
        headers[TRACESTATE] = state.to_header()


def caller_span_context() -> trace.SpanContext | None:
    """The span context the caller sent with the current request, if any (unverified)."""
    value = otel_context.get_current().get(CALLER_SPAN_KEY)  # get_value would add a call
    return value if isinstance(value, trace.SpanContext) else None


def caller_trace_id() -> str | None:
    """The caller's claimed trace id as lowercase hex, for the log's ``caller_trace_id``."""
    claimed = caller_span_context()
    return format(claimed.trace_id, "032x") if claimed is not None else None


def _ids_only(claimed: trace.SpanContext) -> trace.SpanContext:
    """The caller's trace and span id without its ``tracestate``.

    A link carries its span context's trace state to the collector, and a
    caller's ``tracestate`` is free text from their tracer (it could hold a BSN
    or a case note); the ids are all a link needs to find the caller's trace.
    """
    return trace.SpanContext(
        trace_id=claimed.trace_id,
        span_id=claimed.span_id,
        is_remote=True,
        trace_flags=claimed.trace_flags,
    )
