"""The spans of one brokered query through the real gateway, pinned.

One trace, started by the gateway: the SERVER span named by its route
(gateway/telemetry/server.py), the broker's ``ketenpoort.query`` under it, and
one CLIENT span per rest source under that, naming its source
(connectors/source_http.py; tests/brokering/test_source_spans.py has the
shapes per kind of source); the attributes each carries; the answer's
``trace_id`` is the trace's; no BSN in any of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from gateway.settings import Settings
from gateway.telemetry import SERVER_SCOPE, setup_telemetry

QUERY_ROUTE = "/v1/cases/{case_id}/queries"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    yield exporter
    exporter.shutdown()  # processors stay with the process-wide provider; this one stops keeping


def _trace(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    """The finished spans of ``trace_id`` once its SERVER span has ended (just after the
    last byte of the answer went out, which can be after the client read it)."""
    deadline = time.monotonic() + 10
    while True:
        found = [
            s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id
        ]
        server = [s for s in found if s.kind == SpanKind.SERVER and s.name.endswith(QUERY_ROUTE)]
        if server or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _scope(span: ReadableSpan) -> str | None:
    return span.instrumentation_scope.name if span.instrumentation_scope else None


def test_a_query_is_one_trace_of_server_broker_and_client_spans(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    person = demo_people()[0].bsn.reveal()
    client = stack.client("gemeente-demo")
    client.login("zvh-demo", "pga-casusoverleg")
    opened = client.open_case("zvh-demo", "pga-casusoverleg", person, [], "casusoverleg")
    assert opened.status_code == 201, opened.text
    case_id = str(opened.json()["id"])
    sources = ["gemeente-demo", "woningcorporatie-demo"]
    answer = client.query(case_id, ["huisvesting"], sources=sources)
    assert answer.status_code == 200, answer.text
    trace_id = answer.json()["trace_id"]

    found = _trace(spans, trace_id)
    # The demo sources run in this process too; their own server spans continue the trace.
    ours = [s for s in found if s.kind != SpanKind.SERVER or _scope(s) == SERVER_SCOPE]
    [server] = [s for s in ours if s.kind == SpanKind.SERVER]
    assert server.name == f"POST {QUERY_ROUTE}" and server.parent is None
    attributes = dict(server.attributes or {})
    assert attributes["http.route"] == QUERY_ROUTE
    assert attributes["http.method"] == "POST"
    assert attributes["http.target"] == f"/v1/cases/{case_id}/queries"
    assert attributes["http.status_code"] == 200
    assert server.status.status_code is StatusCode.UNSET

    [query] = [s for s in ours if s.name == "ketenpoort.query"]
    assert query.parent is not None and query.parent.span_id == server.context.span_id
    assert dict(query.attributes or {}) == {
        "ketenpoort.case": case_id,
        "ketenpoort.purpose": "pga-casusoverleg",
        "ketenpoort.results": len(sources),
    }
    calls = {
        str((s.attributes or {})["ketenpoort.source"]): s
        for s in ours
        if s.kind == SpanKind.CLIENT and s.name == "POST"
    }
    assert set(calls) == set(sources)
    assert not [s for s in ours if s.name == "ketenpoort.source_lookup"]
    # A source that timed out on a loaded machine answered nothing: its span is an error.
    answered = {r["source"]: r["status"] for r in answer.json()["results"]}
    for source, call in calls.items():
        assert call.parent is not None and call.parent.span_id == query.context.span_id
        attributes = dict(call.attributes or {})
        if answered[source] == "ok":
            assert attributes.pop("http.response.status_code") == 200
            assert call.status.status_code is StatusCode.UNSET
            # The traceparent the source got names this span, as W3C's propagator writes it.
            ids = call.context
            assert stack.sources.source(source).last_traceparent == (
                f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
            )
        else:
            assert call.status.status_code is StatusCode.ERROR
        assert set(attributes) == {
            "http.request.method",
            "server.address",
            "server.port",
            "url.full",
            "ketenpoort.source",
        }
        assert attributes["http.request.method"] == "POST"
        assert str(attributes["url.full"]).endswith("/lookup") and "?" not in attributes["url.full"]
        assert _scope(call) == "ketenpoort.sources"
    assert query.kind is SpanKind.INTERNAL and _scope(query) == "ketenpoort.brokering"
    assert query.status.status_code is StatusCode.UNSET
    for span in (server, query, *calls.values()):
        assert span.context.trace_flags.sampled and not span.events, span.name
        assert span.resource.attributes["service.name"] == "ketenpoort", span.name
    # The test client's own trace (httpx is instrumented) is the SERVER span's one link.
    assert [dict(link.attributes or {}) for link in server.links] in (
        [],
        [{"ketenpoort.link": "caller"}],
    )
    assert not query.links and not [c for c in calls.values() if c.links]
    for span in found:
        assert person not in span.to_json(), span.name
