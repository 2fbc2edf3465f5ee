"""gateway.tracecontext.inject_span: the ``traceparent`` a source call sends, byte for byte.

The source call builds its trace headers from its CLIENT span instead of asking
the process-wide propagator to find that span in the context again; the
headers must be exactly what OpenTelemetry's W3C propagator writes for the span
(``traceparent``, and ``tracestate`` when the trace carries one), nothing for
an invalid span, and any other propagator is still asked as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import DEFAULT_ON
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.telemetry.sampling import ParentBasedAlwaysOn
from gateway.tracecontext import CALLER_SPAN_KEY, OwnTraceOnly, inject_span

W3C = TraceContextTextMapPropagator()
STATE = TraceState([("vendor", "value"), ("other", "x")])


@pytest.fixture
def textmap() -> Iterator[None]:
    before = propagate.get_global_textmap()
    propagate.set_global_textmap(OwnTraceOnly())
    yield
    propagate.set_global_textmap(before)


def _remote(sampled: bool, state: TraceState | None) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(
        0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, flags, state
    )
    return trace.set_span_in_context(NonRecordingSpan(context), Context())


def _spans() -> list[trace.Span]:
    spans: list[trace.Span] = [trace.INVALID_SPAN]
    for sampler in (DEFAULT_ON, ParentBasedAlwaysOn()):
        tracer = TracerProvider(sampler=sampler, shutdown_on_exit=False).get_tracer("test")
        root = tracer.start_span("root", Context())
        spans.append(root)
        spans.append(tracer.start_span("child", trace.set_span_in_context(root, Context())))
        for sampled in (True, False):
            for state in (None, STATE):
                spans.append(tracer.start_span("remote", _remote(sampled, state)))
    return spans


def test_the_headers_are_the_w3c_propagators_for_every_span(textmap: None) -> None:
    seen = set()
    for span in _spans():
        expected: dict[str, str] = {}
        W3C.inject(expected, trace.set_span_in_context(span))
        got: dict[str, str] = {"accept": "application/json"}
        inject_span(span, got)
        assert got == {"accept": "application/json", **expected}, span
        seen.add(tuple(sorted(expected)))
    # Every shape came up: nothing, traceparent alone, and with tracestate.
    assert seen == {(), ("traceparent",), ("traceparent", "tracestate")}


def test_the_headers_name_the_span_not_the_current_one(textmap: None) -> None:
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("test")
    outer = tracer.start_span("outer", Context())
    call = tracer.start_span("call", trace.set_span_in_context(outer, Context()))
    token = otel_context.attach(trace.set_span_in_context(outer))
    try:
        headers: dict[str, str] = {}
        inject_span(call, headers)
    finally:
        otel_context.detach(token)
    ids = call.get_span_context()
    flags = f"{ids.trace_flags:02x}"  # sampled, and a random trace id (W3C level 2): 03
    assert headers == {"traceparent": f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{flags}"}


def test_another_propagator_is_asked_with_the_span_current() -> None:
    before = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([W3C, W3CBaggagePropagator()]))
    token = otel_context.attach(baggage.set_baggage("team", "zvh"))
    try:
        span = TracerProvider(shutdown_on_exit=False).get_tracer("test").start_span("call")
        headers: dict[str, str] = {}
        inject_span(span, headers)
    finally:
        otel_context.detach(token)
        propagate.set_global_textmap(before)
    ids = span.get_span_context()
    assert headers == {
        "traceparent": f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}",
        "baggage": "team=zvh",
    }


def test_an_overlong_traceparent_is_ignored_without_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The W3C propagator ignores a ``traceparent`` over 512 characters but logs a
    warning for each: a caller could flood the gateway's log with one header. Ours
    ignores it quietly (no link, no caller trace id). Before: one warning per request."""
    from gateway.tracecontext import caller_link

    valid = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    assert caller_link(valid) is not None
    overlong = valid + "-" + "x" * 512
    with caplog.at_level("DEBUG"):
        assert caller_link(overlong) is None
    assert caplog.records == []


def test_an_inbound_tracestate_is_not_parsed_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Inbound, only the caller's ``traceparent`` is read: its ``tracestate`` is never a
    parent, and OpenTelemetry's parser logs a bad member word for word (caller text,
    possibly a BSN, in the log). Before: one warning with the text per request."""
    from opentelemetry.instrumentation.asgi import asgi_getter

    scope = {
        "headers": [
            (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            (b"tracestate", b"x=1,999999990 is here"),
        ]
    }
    with caplog.at_level("DEBUG"):
        extracted = OwnTraceOnly().extract(scope, getter=asgi_getter)
    assert "999999990" not in caplog.text
    assert caplog.records == []
    claimed = extracted.get(CALLER_SPAN_KEY)
    assert claimed is not None and claimed.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
