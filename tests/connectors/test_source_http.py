"""SourceHttp: one aiohttp session per event loop, and broken HTTP is `malformed`."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors import LookupResult, RestConnector, SourceHttp, SourceUnavailable
from gateway.settings import Settings
from gateway.subjects.bsn import Bsn
from gateway.telemetry import setup_telemetry
from tests.connectors.conftest import GatewaySigner, RunningSource
from tests.connectors.test_rest_connector import AUDIENCE, lookup_request
from tests.reliability.rawserver import Mode, raw_server
from tests.support.loopback import serve_app


def test_one_source_http_serves_several_event_loops(
    woningcorporatie: RunningSource, signer: GatewaySigner, person_a: Bsn
) -> None:
    """CLI commands and tests call asyncio.run more than once on one runtime."""
    sources = SourceHttp()
    connector = RestConnector(woningcorporatie.base_url, sources, 2.0, signer, audience=AUDIENCE)

    async def look_up(close: bool) -> tuple[LookupResult, int]:
        result = await connector.lookup(lookup_request(person_a))
        held = sources.open_sessions()
        if close:
            await sources.aclose()
        return result, held

    gc.collect()  # what earlier tests left behind warns now, not inside the block below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, held_first = asyncio.run(look_up(close=False))
        assert sources.open_sessions() == 0  # the loop's end closed its session
        second, held_second = asyncio.run(look_up(close=True))
        assert sources.open_sessions() == 0
        gc.collect()

    assert first.subject_known and second.subject_known
    assert (held_first, held_second) == (1, 1)
    # aiohttp's own warnings for a session or connector left open when collected.
    unclosed = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning)
        and ("client session" in str(w.message).lower() or "connector" in str(w.message).lower())
    ]
    assert not unclosed, unclosed


async def test_aclose_leaves_nothing_open_and_a_later_call_reopens(
    woningcorporatie: RunningSource, signer: GatewaySigner, person_a: Bsn
) -> None:
    sources = SourceHttp()
    connector = RestConnector(woningcorporatie.base_url, sources, 2.0, signer, audience=AUDIENCE)
    await connector.lookup(lookup_request(person_a))
    assert sources.open_sessions() == 1

    await sources.aclose()
    assert sources.open_sessions() == 0
    await sources.aclose()  # twice is harmless

    assert (await connector.lookup(lookup_request(person_a))).subject_known
    await sources.aclose()
    assert sources.open_sessions() == 0


@pytest.mark.parametrize("mode", ["not_http", "short_body", "bad_gzip"])
async def test_broken_http_is_malformed(
    mode: Mode, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    with raw_server(mode) as url, pytest.raises(SourceUnavailable) as caught:
        await RestConnector(url, sources, 2.0, signer).lookup(lookup_request(person_a))

    assert caught.value.reason == "malformed"
    assert person_a.reveal() not in str(caught.value)


async def test_reset_before_an_answer_is_connect(
    sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    with raw_server("reset") as url, pytest.raises(SourceUnavailable) as caught:
        await RestConnector(url, sources, 2.0, signer).lookup(lookup_request(person_a))

    assert caught.value.reason == "connect"


async def test_each_source_call_is_a_client_span_the_source_sees_as_parent(
    woningcorporatie: RunningSource, sources: SourceHttp, signer: GatewaySigner, person_a: Bsn
) -> None:
    exporter = InMemorySpanExporter()
    setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    connector = RestConnector(woningcorporatie.base_url, sources, 2.0, signer, audience=AUDIENCE)
    try:
        await connector.lookup(lookup_request(person_a))
        seen = woningcorporatie.state.last_traceparent
        first = await connector.deletions(None)
        await connector.deletions(first.next)  # a cursor in the query string
        woningcorporatie.state.fail = True
        with pytest.raises(SourceUnavailable):
            await connector.lookup(lookup_request(person_a))
        calls = [
            s
            for s in exporter.get_finished_spans()
            if s.instrumentation_scope is not None
            and s.instrumentation_scope.name == "ketenpoort.sources"
        ]
    finally:
        exporter.shutdown()

    assert [(s.name, s.kind) for s in calls] == [
        ("POST", SpanKind.CLIENT),
        ("GET", SpanKind.CLIENT),
        ("GET", SpanKind.CLIENT),
        ("POST", SpanKind.CLIENT),
    ]
    lookup, _, paged, failed = calls
    assert seen is not None and seen.split("-")[2] == format(lookup.context.span_id, "016x")
    port = int(woningcorporatie.base_url.rsplit(":", 1)[1])
    assert dict(lookup.attributes or {}) == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.full": woningcorporatie.base_url + "/lookup",
        "http.response.status_code": 200,
    }
    assert (paged.attributes or {})["url.full"] == woningcorporatie.base_url + "/deletions"
    assert (failed.status.status_code, failed.status.description) == (
        StatusCode.ERROR,
        "bad_status",
    )
    assert (failed.attributes or {})["http.response.status_code"] == 500
    exported = "\n".join(s.to_json(indent=None) for s in calls)
    assert person_a.reveal() not in exported and "demo-db-secret" not in exported


async def test_a_cookie_set_by_one_source_never_reaches_another() -> None:
    """Sources on one host (cookies ignore ports) must not pass state through the gateway.

    Cookies are kept per host name, so the sources are asked as ``localhost``
    (aiohttp's jar already refuses cookies for bare IP addresses).
    """
    seen: list[str | None] = []

    async def setter(request: Request) -> Response:
        return Response(b"{}", headers={"set-cookie": "k=from-a; Path=/; Max-Age=600"})

    async def reader(request: Request) -> Response:
        seen.append(request.headers.get("cookie"))
        return Response(b"{}")

    a = Starlette(routes=[Route("/lookup", setter, methods=["POST"])])
    b = Starlette(routes=[Route("/lookup", reader, methods=["POST"])])
    async with SourceHttp() as sources:
        with serve_app(a) as url_a, serve_app(b) as url_b:
            for url in (url_a, url_b, url_a, url_b):
                await sources.exchange(
                    "POST",
                    url.replace("127.0.0.1", "localhost") + "/lookup",
                    headers={"content-type": "application/json"},
                    body=b"{}",
                    timeout_s=5.0,
                    max_bytes=1024,
                )

    assert seen == [None, None]


async def test_a_source_slower_than_the_bound_is_a_timeout() -> None:
    """aiohttp's own timers are off: ``exchange``'s bound alone ends a slow answer."""

    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return Response(b"{}")

    app = Starlette(routes=[Route("/lookup", slow, methods=["POST"])])
    async with SourceHttp() as sources:
        with serve_app(app) as url, pytest.raises(SourceUnavailable) as caught:
            await sources.exchange(
                "POST", url + "/lookup", headers={}, body=b"{}", timeout_s=0.3, max_bytes=1024
            )

    assert caught.value.reason == "timeout"
