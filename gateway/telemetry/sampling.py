"""The SDK's default sampler, deciding from the parent once instead of three times.

With ``OTEL_TRACES_SAMPLER`` unset (or ``parentbased_always_on``) the SDK
samples with ``ParentBased(ALWAYS_ON)``: every span is recorded and sampled
unless its parent is valid and not sampled, and it inherits the parent's
``tracestate``. The SDK's implementation looks the parent span up in the
context again (after ``Tracer.start_span`` did), reads each of its fields
through a property, and then asks ``ALWAYS_ON`` or ``ALWAYS_OFF``, which look
the parent up a third time for its trace state: ~18 Python calls per span, on
each of the 3–6 spans of a brokered query. :class:`ParentBasedAlwaysOn` makes
the same decision with the same trace state and attributes from one look-up.

It replaces only that exact default (:func:`lean_sampler`): any other sampler
the SDK builds from ``OTEL_TRACES_SAMPLER`` (ratio-based, always off, …) is
kept as it is. ``tests/foundation/test_sampling.py`` holds it equal to
``ParentBased(ALWAYS_ON)`` for every kind of parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.context import Context, get_current
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    DEFAULT_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, TraceFlags, TraceState
from opentelemetry.util.types import Attributes

from gateway.spans import SPAN_KEY, SPAN_TYPES, is_span

_SAMPLED = TraceFlags.SAMPLED


class ParentBasedAlwaysOn(ParentBased):
    """``ParentBased(ALWAYS_ON)``: the same decisions (and description), one parent look-up."""

    def __init__(self) -> None:
        super().__init__(ALWAYS_ON)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        # get_current_span(parent_context) inlined (gateway.spans.span_of): no span, or
        # none that is a Span, is the SDK's INVALID_SPAN, whose context is not valid.
        context = parent_context if parent_context is not None else get_current()
        span: Any = context.get(SPAN_KEY)  # a Span once checked below
        if span is None or (type(span) not in SPAN_TYPES and not is_span(span)):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, None)
        # An SDK span's context as ReadableSpan.context: get_span_context adds a typing.cast call.
        parent = span.context if isinstance(span, ReadableSpan) else span.get_span_context()
        if parent is None:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, None)
        # A SpanContext is the tuple (trace id, span id, remote, flags, state, valid):
        # unpacked, its fields cost no property call each.
        _, _, _, flags, state, valid = parent
        if not valid:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, None)
        if flags & _SAMPLED:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, state)
        return SamplingResult(Decision.DROP, None, state)


def lean_sampler(configured: Sampler) -> Sampler:
    """:class:`ParentBasedAlwaysOn` for the SDK's default sampler; any other one unchanged."""
    return ParentBasedAlwaysOn() if configured is DEFAULT_ON else configured
