"""gateway.spans.CurrentSpan: the broker's and the source calls' spans.

Started with their attributes, current inside the block (a child nests under
it, ``current_trace_ids`` sees it), ended after it; an exception leaves the span
an error named by its type only: ``start_as_current_span`` wrote the message
(which may hold a BSN) into the span's status and an exception event.
"""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from gateway.spans import CurrentSpan
from gateway.telemetry import current_trace_ids

BSN = "111222333"


@pytest.fixture
def traced() -> tuple[Tracer, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider.get_tracer("test"), spans


def test_a_span_with_its_attributes_is_current_in_its_block(
    traced: tuple[Tracer, InMemorySpanExporter],
) -> None:
    tracer, spans = traced

    async def work() -> tuple[str | None, str | None]:
        with CurrentSpan(tracer, "outer", {"ketenpoort.case": "c-1"}) as outer:
            outer.set_attribute("ketenpoort.results", 2)
            with CurrentSpan(tracer, "inner", {"k": "v"}, kind=SpanKind.CLIENT):
                await asyncio.sleep(0)
                inside = current_trace_ids()
        assert current_trace_ids() == (None, None)
        return inside

    trace_id, span_id = asyncio.run(work())
    inner, outer = spans.get_finished_spans()
    assert (outer.name, inner.name, inner.kind) == ("outer", "inner", SpanKind.CLIENT)
    assert dict(outer.attributes or {}) == {"ketenpoort.case": "c-1", "ketenpoort.results": 2}
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert (trace_id, span_id) == (
        format(inner.context.trace_id, "032x"),
        format(inner.context.span_id, "016x"),
    )
    assert outer.status.status_code is StatusCode.UNSET


def test_an_exception_marks_the_span_by_its_type_name_only(
    traced: tuple[Tracer, InMemorySpanExporter],
) -> None:
    tracer, spans = traced
    with pytest.raises(ValueError), CurrentSpan(tracer, "ketenpoort.query"):
        raise ValueError(f"no case for {BSN}")
    [span] = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError"
    assert not span.events
    assert BSN not in span.to_json()


def test_a_status_set_in_the_block_is_kept(traced: tuple[Tracer, InMemorySpanExporter]) -> None:
    tracer, spans = traced
    with pytest.raises(RuntimeError), CurrentSpan(tracer, "GET", kind=SpanKind.CLIENT) as span:
        span.set_status(Status(StatusCode.ERROR, "timeout"))
        raise RuntimeError("unavailable")
    [ended] = spans.get_finished_spans()
    assert ended.status.description == "timeout"


def test_a_span_not_made_current_is_a_child_that_leaves_the_current_span_alone(
    traced: tuple[Tracer, InMemorySpanExporter],
) -> None:
    tracer, spans = traced
    with CurrentSpan(tracer, "outer") as outer:
        around = current_trace_ids()
        with pytest.raises(KeyError), CurrentSpan(tracer, "GET", {"k": "v"}, current=False):
            assert current_trace_ids() == around
            raise KeyError(BSN)
    call, _ = spans.get_finished_spans()
    assert call.parent is not None and call.parent.span_id == outer.get_span_context().span_id
    assert dict(call.attributes or {}) == {"k": "v"}
    assert call.status.status_code is StatusCode.ERROR and call.status.description == "KeyError"
    assert current_trace_ids() == (None, None)
