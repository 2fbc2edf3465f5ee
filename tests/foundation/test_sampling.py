"""gateway/telemetry/sampling.py: the SDK's default sampler, decided from one parent look-up.

``ParentBasedAlwaysOn`` must give what ``ParentBased(ALWAYS_ON)`` gives (the
decision, the attributes the span starts with, the trace state it inherits) for
every parent a span can have: none, an invalid one, a local or remote one,
sampled or not, with or without a ``tracestate``; and it replaces only that
exact default, never a sampler chosen with ``OTEL_TRACES_SAMPLER``.
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from gateway.settings import Settings
from gateway.telemetry import setup_telemetry
from gateway.telemetry.sampling import ParentBasedAlwaysOn, lean_sampler

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
STATE = TraceState([("vendor", "value"), ("other", "x")])
ATTRIBUTES = {"ketenpoort.case": "c-1", "ketenpoort.results": 2}


def _parent(*, remote: bool, sampled: bool, state: TraceState | None) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(TRACE_ID, 0x00F067AA0BA902B7, remote, flags, state)
    return trace.set_span_in_context(NonRecordingSpan(context), Context())


def _parents() -> list[Context | None]:
    invalid = trace.set_span_in_context(NonRecordingSpan(trace.INVALID_SPAN_CONTEXT), Context())
    valid = [
        _parent(remote=remote, sampled=sampled, state=state)
        for remote in (False, True)
        for sampled in (False, True)
        for state in (None, STATE)
    ]
    return [None, Context(), invalid, *valid]


def _outcome(result: SamplingResult) -> tuple[object, ...]:
    return (result.decision, dict(result.attributes), result.trace_state)


def test_it_decides_as_parent_based_always_on_for_every_parent() -> None:
    lean = ParentBasedAlwaysOn()
    for parent in _parents():
        for attributes in (None, ATTRIBUTES):
            expected = DEFAULT_ON.should_sample(parent, TRACE_ID, "q", SpanKind.CLIENT, attributes)
            got = lean.should_sample(parent, TRACE_ID, "q", SpanKind.CLIENT, attributes)
            assert _outcome(got) == _outcome(expected), (parent, attributes)
    assert lean.get_description() == DEFAULT_ON.get_description()


def test_the_current_span_is_the_parent_when_no_context_is_given() -> None:
    token = otel_context.attach(_parent(remote=False, sampled=False, state=STATE))
    try:
        got = ParentBasedAlwaysOn().should_sample(None, TRACE_ID, "q", attributes=ATTRIBUTES)
        expected = DEFAULT_ON.should_sample(None, TRACE_ID, "q", attributes=ATTRIBUTES)
    finally:
        otel_context.detach(token)
    assert _outcome(got) == _outcome(expected)
    assert not got.decision.is_recording() and got.trace_state == STATE


def test_only_the_sdks_default_is_replaced() -> None:
    assert isinstance(lean_sampler(DEFAULT_ON), ParentBasedAlwaysOn)
    configured: list[Sampler] = [
        ALWAYS_ON,
        ALWAYS_OFF,
        DEFAULT_OFF,
        TraceIdRatioBased(0.5),
        ParentBasedTraceIdRatio(0.25),
    ]
    for sampler in configured:
        assert lean_sampler(sampler) is sampler


def test_the_gateways_provider_samples_with_it_and_spans_keep_their_parents() -> None:
    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    try:
        # OTEL_TRACES_SAMPLER is not set in the tests: the SDK's default, replaced.
        assert isinstance(telemetry.tracer_provider.sampler, ParentBasedAlwaysOn)
        tracer = telemetry.tracer_provider.get_tracer("test.sampling")
        with tracer.start_as_current_span("outer") as outer:
            tracer.start_span("inner", attributes=ATTRIBUTES).end()
        remote = tracer.start_span("remote", _parent(remote=True, sampled=True, state=STATE))
        remote.end()
        dropped = tracer.start_span("dropped", _parent(remote=True, sampled=False, state=None))
        dropped.end()
    finally:
        exporter.shutdown()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"outer", "inner", "remote"}
    inner, remote_child = spans["inner"], spans["remote"]
    assert inner.parent == outer.get_span_context()
    assert dict(inner.attributes or {}) == ATTRIBUTES
    assert inner.context.trace_flags.sampled and inner.context.trace_state == TraceState()
    assert remote_child.context.trace_id == TRACE_ID
    assert remote_child.context.trace_state == STATE
    assert not dropped.is_recording() and not dropped.get_span_context().trace_flags.sampled


def test_a_provider_of_the_sdk_gets_the_same_spans_with_either() -> None:
    """The same starts through the SDK's sampler and ours: the same spans, field by field."""
    finished = []
    for sampler in (DEFAULT_ON, ParentBasedAlwaysOn()):
        exporter = InMemorySpanExporter()
        provider = TracerProvider(sampler=sampler, shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test.sampling")
        for parent in _parents():
            tracer.start_span("s", parent, kind=SpanKind.CLIENT, attributes=ATTRIBUTES).end()
        finished.append(
            [
                (
                    s.name,
                    s.kind,
                    s.parent,
                    dict(s.attributes or {}),
                    s.context.trace_flags,
                    s.context.trace_state,
                    s.context.trace_id if s.parent is not None else None,
                )
                for s in exporter.get_finished_spans()
            ]
        )
    assert finished[0] == finished[1]
    assert len(finished[0]) == 7  # the four unsampled parents' children are dropped
