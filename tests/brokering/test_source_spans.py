"""The spans of a query's source calls: one per source, naming it, under the query's span.

A rest source's call is one CLIENT span (``ketenpoort.sources``) that names the
source party (``ketenpoort.source``) and is the parent the source sees; the
broker makes no span of its own around it. A source reached otherwise (sql, a
peer gateway) gets the broker's ``ketenpoort.source_lookup`` span instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.demo.stack import Stack
from gateway.settings import Settings
from gateway.telemetry import setup_telemetry
from tests.brokering.support import (
    change_covenant,
    open_case,
    party_block,
    results,
    sqlite_partner,
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    yield exporter
    exporter.shutdown()


def _of_trace(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]


def _query_span(spans: list[ReadableSpan]) -> ReadableSpan:
    (query,) = [s for s in spans if s.name == "ketenpoort.query"]
    return query


def test_each_rest_source_call_is_one_client_span_naming_its_source(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    gemeente, case_id = open_case(stack, consent=True)
    response = gemeente.query(case_id, ["psychisch_welzijn", "huisvesting"])
    asked = {source for source, _ in results(response)}
    traced = _of_trace(spans, response.json()["trace_id"])
    query = _query_span(traced)

    calls = [s for s in traced if s.kind == SpanKind.CLIENT and s.name == "POST"]
    named: dict[Any, ReadableSpan] = {(s.attributes or {})["ketenpoort.source"]: s for s in calls}
    assert len(named) == len(calls) == len(asked) >= 2
    assert set(named) == asked
    for source, call in named.items():
        attributes = call.attributes or {}
        assert call.instrumentation_scope is not None
        assert call.instrumentation_scope.name == "ketenpoort.sources"
        assert str(attributes["url.full"]).endswith("/lookup")
        assert attributes["http.response.status_code"] == 200
        assert call.parent is not None and call.parent.span_id == query.context.span_id
        seen = stack.sources.source(str(source)).last_traceparent
        assert seen is not None and seen.split("-")[2] == format(call.context.span_id, "016x")
    assert not [s for s in traced if s.name == "ketenpoort.source_lookup"]


def test_a_source_without_its_own_client_span_gets_the_brokers(
    stack: Stack, spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    url = sqlite_partner(tmp_path / "woningcorporatie.db")

    def to_sql(document: dict[str, Any]) -> None:
        party_block(document, "woningcorporatie-demo")["source"] = {
            "type": "sql",
            "url": url,
            "timeout_s": 2.0,
            "queries": {"huisvesting": "SELECT id, updated, adres FROM woning WHERE bsn = :bsn"},
        }

    change_covenant(stack, to_sql)
    gemeente, case_id = open_case(stack)
    response = gemeente.query(case_id, ["huisvesting"], ["woningcorporatie-demo", "gemeente-demo"])
    assert {r["status"] for r in results(response).values()} == {"ok"}
    traced = _of_trace(spans, response.json()["trace_id"])
    query = _query_span(traced)

    (lookup,) = [s for s in traced if s.name == "ketenpoort.source_lookup"]
    assert dict(lookup.attributes or {}) == {"ketenpoort.source": "woningcorporatie-demo"}
    assert lookup.kind == SpanKind.INTERNAL
    assert lookup.parent is not None and lookup.parent.span_id == query.context.span_id
    (call,) = [s for s in traced if s.kind == SpanKind.CLIENT and s.name == "POST"]
    assert (call.attributes or {})["ketenpoort.source"] == "gemeente-demo"
