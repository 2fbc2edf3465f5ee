"""RestConnector against real sources on loopback (promises 4, 8 and the unavailable path)."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import AsyncIterator
from datetime import date

import pytest
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from connectors import (
    ForwardedRightsRequest,
    LookupRequest,
    Requester,
    RestConnector,
    RightsRequestForwarder,
    SourceConnector,
    SourceHttp,
    SourceUnavailable,
)
from gateway.demo.serving import bind_socket
from gateway.demo.source_app import LEAKY_ERROR_BODY
from gateway.demodata.people import EXTRA_FIELD, demo_people
from gateway.subjects.bsn import Bsn
from tests.connectors.conftest import GatewaySigner, RunningSource
from tests.support.loopback import serve_app

AUDIENCE = "urn:test:woningcorporatie-demo"


def lookup_request(subject: Bsn, *categories: str, traceparent: str | None = None) -> LookupRequest:
    return LookupRequest(
        subject=subject,
        categories=categories or ("huisvesting",),
        convenant="zvh-demo",
        purpose="pga-casusoverleg",
        case="c-test-1",
        requester=Requester(party="gemeente-demo", employee="m.jansen"),
        traceparent=traceparent,
    )


def connector_for(
    base_url: str, sources: SourceHttp, signer: GatewaySigner, timeout_s: float = 2.0
) -> RestConnector:
    return RestConnector(base_url, sources, timeout_s, signer, audience=AUDIENCE)


async def test_lookup_returns_records_with_extra_fields_untrimmed(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    connector = connector_for(woningcorporatie.base_url, sources, signer)

    result = await connector.lookup(lookup_request(person_a, "huisvesting"))

    assert result.subject_known is True
    assert [r.category for r in result.records] == ["huisvesting"]
    fields = result.records[0].fields
    assert fields["woonsituatie"] == "dakloos"
    assert EXTRA_FIELD in fields  # trimming is the broker's job, not ours
    assert result.records[0].updated.tzinfo is not None


async def test_only_asked_categories_come_back(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    connector = connector_for(woningcorporatie.base_url, sources, signer)

    both = await connector.lookup(lookup_request(person_a, "huisvesting", "inkomen_schulden"))
    one = await connector.lookup(lookup_request(person_a, "inkomen_schulden"))

    assert {r.category for r in both.records} == {"huisvesting", "inkomen_schulden"}
    assert {r.category for r in one.records} == {"inkomen_schulden"}


async def test_unknown_subject_is_not_known(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner
) -> None:
    only_gemeente = next(p for p in demo_people() if p.known_to == {"gemeente-demo"})
    connector = connector_for(woningcorporatie.base_url, sources, signer)

    result = await connector.lookup(lookup_request(only_gemeente.bsn, "huisvesting"))

    assert result.subject_known is False
    assert list(result.records) == []


async def test_bearer_token_for_the_audience_reaches_the_source(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    await connector_for(woningcorporatie.base_url, sources, signer).lookup(lookup_request(person_a))

    claims = woningcorporatie.state.last_token_claims
    assert claims is not None
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == signer.issuer
    assert signer.audiences == [AUDIENCE]


async def test_token_for_another_audience_is_refused_as_unauthorized(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    connector = RestConnector(woningcorporatie.base_url, sources, 2.0, signer)  # aud = base URL

    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup(lookup_request(person_a))

    assert caught.value.reason == "unauthorized"
    assert caught.value.status == 401


async def test_traceparent_of_the_current_span_reaches_the_source(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    tracer = TracerProvider().get_tracer("test")
    connector = connector_for(woningcorporatie.base_url, sources, signer)

    with tracer.start_as_current_span("query") as span:
        await connector.lookup(lookup_request(person_a))
        trace_id = format(span.get_span_context().trace_id, "032x")

    received = woningcorporatie.state.last_traceparent
    assert received is not None
    assert received.split("-")[1] == trace_id


async def test_explicit_traceparent_is_used_outside_a_span(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    connector = connector_for(woningcorporatie.base_url, sources, signer)

    await connector.lookup(lookup_request(person_a, traceparent=given))

    # The source sees the connector's client span, a child of the given trace.
    seen = woningcorporatie.state.last_traceparent
    assert seen is not None
    assert seen.split("-")[1] == given.split("-")[1]


async def test_slow_source_times_out_within_the_bound(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    woningcorporatie.state.delay_s = 3.0
    connector = connector_for(woningcorporatie.base_url, sources, signer, timeout_s=0.3)

    started = time.monotonic()
    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup(lookup_request(person_a))

    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 0.3 + 0.5


async def test_refused_connection_is_connect(
    sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    sock = bind_socket()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    connector = connector_for(f"http://127.0.0.1:{port}", sources, signer)

    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup(lookup_request(person_a))

    assert caught.value.reason == "connect"


async def test_server_error_body_never_reaches_the_exception(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    woningcorporatie.state.fail = True
    connector = connector_for(woningcorporatie.base_url, sources, signer)

    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup(lookup_request(person_a))

    assert caught.value.reason == "bad_status"
    assert caught.value.status == 500
    rendered = "".join(traceback.format_exception(caught.value))
    assert "demo-db-secret-4711" in LEAKY_ERROR_BODY
    assert "demo-db-secret-4711" not in rendered
    assert person_a.reveal() not in rendered


def _fixed_answer(body: bytes, *, stream: bool = False) -> Starlette:
    async def lookup(request: Request) -> Response:
        if stream:

            async def chunks() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 65536):
                    yield body[start : start + 65536]

            return StreamingResponse(chunks(), media_type="application/json")
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/lookup", lookup, methods=["POST"])])


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"subject_known": "yes", "records": []}',
        b'{"subject_known": true, "records": [{"id": "r1", "category": "huisvesting",'
        b' "fields": {}}]}',
        b'{"subject_known": true, "records": [{"id": "r1", "category": "huisvesting",'
        b' "updated": "2026-10-01T09:00:00", "fields": {}}]}',
    ],
    ids=["not-json", "wrong-top-level", "wrong-type", "missing-updated", "naive-timestamp"],
)
async def test_malformed_answers_are_malformed(
    body: bytes, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    with serve_app(_fixed_answer(body)) as base_url, pytest.raises(SourceUnavailable) as caught:
        await connector_for(base_url, sources, signer).lookup(lookup_request(person_a))

    assert caught.value.reason == "malformed"


@pytest.mark.parametrize("stream", [False, True], ids=["content-length", "chunked"])
async def test_oversized_answer_is_refused(
    stream: bool, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    filler = "x" * (6 * 1024 * 1024)
    body = json.dumps({"subject_known": True, "records": [], "padding": filler}).encode()

    source = _fixed_answer(body, stream=stream)
    with serve_app(source) as base_url, pytest.raises(SourceUnavailable) as caught:
        await connector_for(base_url, sources, signer).lookup(lookup_request(person_a))

    assert caught.value.reason == "too_large"


async def test_deletion_feed_pages_with_cursors(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    connector = connector_for(woningcorporatie.base_url, sources, signer)
    first = await connector.lookup(lookup_request(person_a, "huisvesting", "inkomen_schulden"))
    ids = [r.id for r in first.records]

    empty = await connector.deletions(None)
    assert list(empty.events) == []

    assert woningcorporatie.state.delete(ids[0]) is not None
    page = await connector.deletions(empty.next)
    assert [e.record_id for e in page.events] == [ids[0]]
    assert page.events[0].subject == person_a
    assert page.events[0].category == first.records[0].category

    assert list((await connector.deletions(page.next)).events) == []
    woningcorporatie.state.delete(ids[1])
    later = await connector.deletions(page.next)
    assert [e.record_id for e in later.events] == [ids[1]]

    after = await connector.lookup(lookup_request(person_a, "huisvesting", "inkomen_schulden"))
    assert after.records == []


def _fixed_feed(body: bytes) -> Starlette:
    async def deletions(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/deletions", deletions, methods=["GET"])])


@pytest.mark.parametrize(
    "cursor",
    ["x\\u0000", "x" * 1025],
    ids=["nul", "too-long"],
)
async def test_a_feed_cursor_postgresql_cannot_store_is_malformed(
    cursor: str, sources: SourceHttp, signer: GatewaySigner
) -> None:
    """Stored as sent, it stopped every retention run on PostgreSQL (review-b F1)."""
    body = b'{"events": [], "next": "' + cursor.encode() + b'"}'
    with serve_app(_fixed_feed(body)) as base_url, pytest.raises(SourceUnavailable) as caught:
        await connector_for(base_url, sources, signer).deletions(None)

    assert caught.value.reason == "malformed"


async def test_rights_request_is_forwarded(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    connector = connector_for(woningcorporatie.base_url, sources, signer)
    request = ForwardedRightsRequest(
        id="rr-1",
        type="correctie",
        subject=person_a,
        records=("woni-0001",),
        details="adres klopt niet",
        deadline=date(2026, 11, 1),
    )

    await connector.forward_rights_request(request)

    [received] = woningcorporatie.state.rights_requests
    assert (received.id, received.type, received.records) == ("rr-1", "correctie", ("woni-0001",))


def test_rest_connector_offers_both_protocols(sources: SourceHttp, signer: GatewaySigner) -> None:
    connector = connector_for("http://127.0.0.1:9", sources, signer)
    assert isinstance(connector, SourceConnector)
    assert isinstance(connector, RightsRequestForwarder)
