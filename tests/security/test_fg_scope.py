"""Promise 11 (covenant boundaries) for the privacy officer, and the log of the FG's own reads.

One gateway serves two covenants: the demo covenant A (``zvh-demo``, FG
``fg-demo``) and covenant B (``zvh-b``, FG ``fg-b``). Each FG must see only
their own covenant's entries, rights requests and anomalies, through the API
and through /privacy (list, detail, CSV export, BSN search); every read of the
log by a person, and every refusal, is itself an entry.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.telemetry import setup_telemetry
from tests.brokering.support import MOTIVATION
from tests.security.fgscope_support import (
    COVENANT_B,
    PURPOSE,
    all_entries,
    file_overdue_request,
    partner,
    two_covenants,
)
from tests.web.conftest import hidden_fields, login

__all__ = ["two_covenants"]

BSN = demo_people()[0].bsn.reveal()
# Categories woningcorporatie-demo may never receive: each asked one is a logged denial.
FORBIDDEN = ["justitiele_gegevens", "psychisch_welzijn", "middelengebruik", "denkwereld_gedrag"]


@dataclass
class World:
    """What happened in each covenant, to look for (or not) in each FG's view."""

    case_a: str
    case_b: str
    rights_a: str
    rights_b: str
    seqs_a: set[int]
    seqs_b: set[int]


def _unscoped(stack: Stack, **filters: Any) -> list[dict[str, Any]]:
    """Every matching entry as the operator sees it (in-process, not through any FG view)."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    with stack.runtime.db.session() as session:
        while True:
            query = EntryQuery(cursor=cursor, limit=500, **filters)
            page = search_entries(session, stack.runtime.audit.vault, query)
            entries += page.entries
            if page.next is None:
                return entries
            cursor = page.next


def _populate(stack: Stack) -> World:
    gemeente = partner(stack, "gemeente-demo")
    opened = gemeente.open_case(
        DEMO_COVENANT,
        PURPOSE,
        BSN,
        ["politie-demo", "ggz-demo", "woningcorporatie-demo"],
        "casusoverleg",
    )
    assert opened.status_code == 201, opened.text
    case_a = str(opened.json()["id"])
    assert gemeente.query(case_a, ["psychisch_welzijn", "huisvesting"]).status_code == 200
    nosy = partner(stack, "woningcorporatie-demo")
    for _ in range(12):  # > 10 denial entries (one per refused query) in 5 min: a burst in A
        assert nosy.query(case_a, FORBIDDEN, motivation=MOTIVATION).status_code == 200
    rights_a = file_overdue_request(stack, gemeente, BSN, case_a)

    gemeente_b = partner(stack, "gemeente-b", COVENANT_B)
    opened_b = gemeente_b.open_case(COVENANT_B, PURPOSE, BSN, [], "casusoverleg")
    assert opened_b.status_code == 201, opened_b.text
    case_b = str(opened_b.json()["id"])
    rights_b = file_overdue_request(stack, gemeente_b, BSN, case_b)

    everything = _unscoped(stack)
    seqs_a = {int(e["seq"]) for e in everything if e["convenant"] == DEMO_COVENANT}
    seqs_b = {int(e["seq"]) for e in everything if e["convenant"] == COVENANT_B}
    assert seqs_a and seqs_b
    denials = [e for e in everything if e["party"] == "woningcorporatie-demo"]
    assert sum(e["outcome"] == "denied" for e in denials) > 10
    return World(case_a, case_b, rights_a, rights_b, seqs_a, seqs_b)


def test_fg_api_sees_only_its_own_covenant(two_covenants: Stack) -> None:
    """Promise 11, covenant boundaries: the FG of covenant B reads none of covenant A's log
    (entries, BSN search, overdue rights requests) through the API, and vice versa."""
    stack = two_covenants
    world = _populate(stack)
    fg_a = partner(stack, "fg-demo")
    fg_b = partner(stack, "fg-b", COVENANT_B)

    seen_b = all_entries(fg_b)
    assert {e["convenant"] for e in seen_b} == {COVENANT_B}
    assert world.case_b in {e["case"] for e in seen_b}
    assert not {int(str(e["seq"])) for e in seen_b} & world.seqs_a
    assert all_entries(fg_b, case=world.case_a) == []
    assert all_entries(fg_b, party="woningcorporatie-demo") == []

    by_bsn = fg_b.call("POST", "/v1/audit/entries/search", {"subject_bsn": BSN, "limit": 500})
    assert by_bsn.status_code == 200, by_bsn.text
    found = by_bsn.json()["entries"]
    assert found and {e["convenant"] for e in found} == {COVENANT_B}
    assert world.case_a not in {e["case"] for e in found}

    seen_a = all_entries(fg_a)
    assert {e["convenant"] for e in seen_a} == {DEMO_COVENANT}
    assert world.case_a in {e["case"] for e in seen_a}

    overdue_b = fg_b.call("GET", "/v1/rights-requests?overdue=true").json()["requests"]
    overdue_a = fg_a.call("GET", "/v1/rights-requests?overdue=true").json()["requests"]
    assert [r["id"] for r in overdue_b] == [world.rights_b]
    assert [r["id"] for r in overdue_a] == [world.rights_a]

    # A token of covenant A for a party that is FG only in B is no FG token at all.
    assert partner(stack, "gemeente-demo").call("GET", "/v1/audit/entries").status_code == 403


def _csv(client: httpx.Client, **params: str) -> list[dict[str, str]]:
    export = client.get("/privacy/export.csv", params=params or None)
    assert export.status_code == 200, export.text
    return list(csv.DictReader(io.StringIO(export.text)))


def test_fg_web_sees_only_its_own_covenant(two_covenants: Stack) -> None:
    """Promise 11, covenant boundaries: /privacy for the FG of covenant B (list, BSN search,
    anomalies, overdue rights requests, CSV export, detail by seq) shows nothing of A."""
    stack = two_covenants
    world = _populate(stack)
    fg_b = login(stack.base_url, "fg.fg-b", next_path="/privacy")
    fg_a = login(stack.base_url, "fg.demo", next_path="/privacy")

    page_b = fg_b.get("/privacy")
    assert page_b.status_code == 200
    assert world.case_b in page_b.text and world.rights_b in page_b.text
    for secret in (world.case_a, world.rights_a, "woningcorporatie-demo", "gemeente-demo"):
        assert secret not in page_b.text, secret
    page_a = fg_a.get("/privacy")
    assert world.case_a in page_a.text and world.rights_a in page_a.text
    assert "woningcorporatie-demo" in page_a.text  # its denial burst, and its entries
    assert world.case_b not in page_a.text and world.rights_b not in page_a.text

    form = hidden_fields(page_b.text)
    form["bsn"] = BSN
    searched = fg_b.post("/privacy/search", data=form)
    assert searched.status_code == 200
    assert world.case_b in searched.text and world.case_a not in searched.text

    rows_b = _csv(fg_b)
    assert rows_b and not {int(r["seq"]) for r in rows_b} & world.seqs_a
    assert {int(r["seq"]) for r in rows_b} >= world.seqs_b
    assert _csv(fg_b, case=world.case_a) == []
    rows_a = _csv(fg_a)
    assert {int(r["seq"]) for r in rows_a} >= world.seqs_a
    assert not {int(r["seq"]) for r in rows_a} & world.seqs_b

    seq_a, seq_b = min(world.seqs_a), min(world.seqs_b)
    assert fg_b.get(f"/privacy/entries/{seq_a}").status_code == 404
    assert fg_b.get(f"/privacy/entries/{seq_b}").status_code == 200
    assert fg_a.get(f"/privacy/entries/{seq_b}").status_code == 404
    assert fg_a.get(f"/privacy/entries/{seq_a}").status_code == 200


def test_every_read_of_the_log_and_every_refusal_is_an_entry(two_covenants: Stack) -> None:
    """Promise 7 (everything is logged) for the log itself: each FG read through the API or
    /privacy (list, detail, export, BSN search) and each refused attempt is an audit entry,
    with the reader and the pseudonym at most, never the BSN."""
    stack = two_covenants
    world = _populate(stack)
    fg_b = partner(stack, "fg-b", COVENANT_B)
    assert fg_b.call("GET", "/v1/audit/entries").status_code == 200
    assert fg_b.call("POST", "/v1/audit/entries/search", {"subject_bsn": BSN}).status_code == 200
    web = login(stack.base_url, "fg.fg-b", next_path="/privacy")
    assert web.get("/privacy", params={"kind": "case"}).status_code == 200
    assert web.get(f"/privacy/entries/{min(world.seqs_b)}").status_code == 200
    _csv(web)
    assert partner(stack, "gemeente-demo").call("GET", "/v1/audit/entries").status_code == 403
    assert login(stack.base_url, "ovj.demo").get("/privacy").status_code == 403

    reads = _unscoped(stack, kind="audit")
    mine = [e for e in reads if e["party"] == "fg-b" and e["outcome"] == "read"]
    assert {e["convenant"] for e in mine} == {COVENANT_B}
    seen = {(e["details"]["channel"], e["details"]["action"]) for e in mine}
    assert {("api", "search"), ("web", "list"), ("web", "entry"), ("web", "export")} <= seen
    by_person = [e for e in mine if e["details"]["filters"] == "subject"]
    pseudonym = stack.runtime.pseudonymizer.pseudonym(demo_people()[0].bsn)
    assert [e["subject"] for e in by_person] == [pseudonym]
    refused = {(e["party"], e["convenant"]) for e in reads if e["outcome"] == "denied"}
    assert ("gemeente-demo", DEMO_COVENANT) in refused
    assert ("om-demo", DEMO_COVENANT) in refused
    with stack.runtime.db.engine.connect() as connection:
        bodies = [row[0] for row in connection.exec_driver_sql("SELECT body FROM audit_entries")]
    assert not any(BSN in body for body in bodies)


BAD_NUMBERS = ["²", "s²", "٣", "１", "1_0", " 5", "5.0", "-1", "9" * 30, str(2**63), ""]


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_unicode_or_huge_numbers_are_422_not_500(two_covenants: Stack, value: str) -> None:
    """Fail closed, never a 500: a cursor, seq, size, from/to or limit that is not a bounded
    ASCII number is a 422 problem (``s²`` passes ``str.isdigit`` but not ``int``)."""
    stack = two_covenants
    fg = partner(stack, "fg-demo")
    cursor = value if value.startswith("s") else "s" + value
    calls = [
        ("/v1/audit/entries", {"cursor": cursor}),
        ("/v1/audit/entries", {"limit": value}),
        ("/v1/audit/checkpoint", {"size": value}),
        ("/v1/audit/proofs/inclusion", {"seq": value, "size": "5"}),
        ("/v1/audit/proofs/inclusion", {"seq": "0", "size": value}),
        ("/v1/audit/proofs/consistency", {"from": value, "to": "5"}),
        ("/v1/audit/proofs/consistency", {"from": "0", "to": value}),
    ]
    for path, params in calls:
        response = fg.http.get(path, params=params, headers=fg.headers())
        assert response.status_code == 422, (path, params, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    posted = fg.call("POST", "/v1/audit/entries/search", {"cursor": cursor})
    assert posted.status_code == 422, posted.text
    web = login(stack.base_url, "fg.demo", next_path="/privacy")
    assert web.get("/privacy", params={"cursor": cursor}).status_code == 400


def test_times_out_of_range_are_422_not_500(two_covenants: Stack) -> None:
    """Fail closed, never a 500: a time with no UTC form (year 1 at +01:00) is a 422, and the
    web form's last representable day is accepted."""
    fg = partner(two_covenants, "fg-demo")
    for params in ({"from": "0001-01-01T00:00:00+01:00"}, {"to": "9999-12-31T23:59:59-01:00"}):
        response = fg.http.get("/v1/audit/entries", params=params, headers=fg.headers())
        assert response.status_code == 422, (params, response.text)
    web = login(two_covenants.base_url, "fg.demo", next_path="/privacy")
    assert web.get("/privacy", params={"to": "9999-12-31"}).status_code == 200


def test_control_characters_in_filters_are_refused_not_500(two_covenants: Stack) -> None:
    """Fail closed, never a 500: a NUL in a /privacy text filter (which PostgreSQL text cannot
    hold) is a Dutch 400 on the page and the export; in the API it is a 422 problem."""
    web = login(two_covenants.base_url, "fg.demo", next_path="/privacy")
    for path in ("/privacy", "/privacy/export.csv"):
        for field in ("party", "purpose", "case", "outcome"):
            refused = web.get(path, params={field: "a\x00b"})
            assert refused.status_code == 400, (path, field, refused.status_code)
            assert "stuurtekens" in refused.text
    fg = partner(two_covenants, "fg-demo")
    posted = fg.call("POST", "/v1/audit/entries/search", {"party": "a\x00b"})
    queried = fg.http.get("/v1/audit/entries", params={"case": "a\x00b"}, headers=fg.headers())
    assert (posted.status_code, queried.status_code) == (422, 422)


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    from gateway.settings import Settings

    exporter = InMemorySpanExporter()
    setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    return exporter


def _server_span(spans: InMemorySpanExporter, trace_id: str) -> ReadableSpan:
    """The gateway's server span of ``trace_id``. It ends only after the last byte of the
    response was handed to the server, which can be just after the client has read it:
    wait for it a little rather than race it."""
    deadline = time.monotonic() + 10
    while not (found := _server_spans(spans, trace_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found, "no server span with the entry's trace id"
    return found[0]


def _server_spans(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [
        span
        for span in spans.get_finished_spans()
        if span.kind == SpanKind.SERVER
        and format(span.context.trace_id, "032x") == trace_id
        # The gateway's server span (the demo sources' own spans share its trace).
        and span.attributes is not None
        and str(span.attributes.get("http.route", "")).startswith("/v1/")
        and span.resource.attributes.get("service.name") == "ketenpoort"
        and span.instrumentation_scope is not None
        and span.instrumentation_scope.name.startswith("opentelemetry.instrumentation")
    ]


def test_a_callers_traceparent_is_a_link_not_the_logged_trace(
    two_covenants: Stack, spans: InMemorySpanExporter
) -> None:
    """Promise 7, trustworthy log: a partner cannot choose the trace id recorded in the log.
    Its traceparent is kept as a span link and as ``caller_trace_id``; ``trace_id`` is ours."""
    stack = two_covenants
    gemeente = partner(stack, "gemeente-demo")
    chosen = secrets.token_hex(16)
    headers = {**gemeente.headers(), "traceparent": f"00-{chosen}-{secrets.token_hex(8)}-01"}
    body = {
        "convenant": DEMO_COVENANT,
        "purpose": PURPOSE,
        "subject": {"bsn": BSN},
        "participants": ["ggz-demo"],
        "phase": "casusoverleg",
    }
    # The test process's own httpx is instrumented too: keep it from replacing our header.
    with suppress_http_instrumentation():
        opened = gemeente.http.post("/v1/cases", json=body, headers=headers)
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
        queried = gemeente.http.post(
            f"/v1/cases/{case_id}/queries",
            json={"categories": ["psychisch_welzijn"]},
            headers=headers,
        )
    assert queried.status_code == 200, queried.text
    entries = _unscoped(stack, case=case_id)
    assert entries
    assert all(e["trace_id"] != chosen for e in entries)
    assert {e["caller_trace_id"] for e in entries} == {chosen}
    assert queried.json()["trace_id"] in {e["trace_id"] for e in entries}
    for trace_id in {e["trace_id"] for e in entries}:
        assert isinstance(trace_id, str) and len(trace_id) == 32
        server = _server_span(spans, trace_id)
        assert server.parent is None, "the caller's span must not be the parent"
        linked = {format(link.context.trace_id, "032x") for link in server.links}
        assert chosen in linked
