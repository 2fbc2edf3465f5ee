"""An insider's review of the FG-scope work: what a non-FG login or a caller can still reach.

Each test was seen to fail on main at d79f097 (the merge of fg-scope) and guards one hole
found in the review (docs/audit.md, "Review of the FG scope").
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.settings import Settings
from gateway.telemetry import setup_telemetry
from tests.web.conftest import hidden_fields, login

BSN = demo_people()[0].bsn.reveal()
PURPOSE = "pga-casusoverleg"


def _csrf(client: httpx.Client, path: str) -> dict[str, str]:
    """The session's CSRF token as a browser would find it on a page of its own."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text)
    assert "csrf_token" in form, "no CSRF token on " + path
    return {"csrf_token": form["csrf_token"]}


@pytest.mark.parametrize(
    ("username", "own_page"),
    [("ovj.demo", "/auth/whoami"), (demo_people()[0].label, "/mijn")],
)
def test_only_a_privacy_officer_starts_the_full_check(
    stack: Stack, username: str, own_page: str
) -> None:
    """Promise 11 (covenant boundaries) and fail closed: POST /privacy/verify (a full
    recomputation of the whole log) is an FG action; an OvJ employee or a person logged in
    to /mijn, holding a valid CSRF token of their own session, is refused with the Dutch 403
    and the refusal is logged, like every other /privacy route."""
    client = login(stack.base_url, username, next_path=own_page)
    form = _csrf(client, own_page)
    started = client.post("/privacy/verify", data=form, follow_redirects=False)
    assert started.status_code == 403, (started.status_code, started.headers)
    assert "privacy_officer" not in started.text or "Geen toegang" in started.text
    fg = login(stack.base_url, "fg.demo", next_path="/privacy")
    allowed = fg.post("/privacy/verify", data=_csrf(fg, "/privacy"), follow_redirects=False)
    assert allowed.status_code == 303


def test_problems_never_echo_a_bsn_from_a_path_or_a_json_key(stack: Stack) -> None:
    """Promise 7 (no BSN outside the vault): an error answer carries neither a BSN sent in a
    path (``instance`` of a 404/422) nor one sent as a JSON object key (the ``loc`` of an
    ``extra_forbidden`` validation error), for partners and anonymous callers alike."""
    fg = stack.client("fg-demo")
    fg.login(DEMO_COVENANT, PURPOSE)
    answers = [
        fg.http.get(f"/v1/nothing/{BSN}"),
        fg.http.get(f"/v1/cases/{BSN}", headers=fg.headers()),
        fg.http.get(f"/v1/rights-requests/{BSN}", headers=fg.headers()),
        fg.call("POST", "/v1/audit/entries/search", {BSN: "x"}),
        fg.call("POST", "/v1/audit/entries/search", {"subject_bsn": BSN, f"x{BSN}": 1}),
        fg.call(
            "POST",
            "/v1/rights-requests",
            {"type": "inzage", "subject": {"bsn": BSN, BSN: 1}, "details": "x"},
        ),
    ]
    for answer in answers:
        assert answer.status_code in {400, 404, 422}, (answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert BSN not in answer.text, answer.text


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    return exporter


def test_a_callers_tracestate_and_headers_reach_no_span_in_clear(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    """Promise 7 (no BSN outside the vault): the caller's ``traceparent`` becomes a span link,
    but the free text of its ``tracestate`` (which a partner's tracer may fill with anything,
    here a BSN) is not copied into that link; a BSN in User-Agent or X-Forwarded-For is
    redacted in the server span's attributes. No exported span carries it."""
    spans.clear()
    gemeente = stack.client("gemeente-demo")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    chosen = secrets.token_hex(16)
    headers = {
        **gemeente.headers(),
        "traceparent": f"00-{chosen}-{secrets.token_hex(8)}-01",
        "tracestate": f"partner=bsn{BSN},other=x",
        "User-Agent": f"zaaksysteem/1.0 (dossier {BSN})",
        "X-Forwarded-For": BSN,
    }
    with suppress_http_instrumentation():
        listed = gemeente.http.get("/v1/cases/c-00000000000000000000", headers=headers)
    assert listed.status_code in {403, 404}, listed.text
    deadline = time.monotonic() + 5  # the server span ends just after the response is sent
    while True:
        linked = [
            span
            for span in spans.get_finished_spans()
            if any(format(link.context.trace_id, "032x") == chosen for link in span.links)
        ]
        if linked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert linked, "the caller's trace must still be linked"
    for span in spans.get_finished_spans():
        assert BSN not in span.to_json(), span.name


def test_a_refused_log_search_names_its_reason(stack: Stack) -> None:
    """Fail closed with a machine-readable reason (every denial carries one): a partner token
    without the FG role is refused on GET /v1/audit/entries and on the POST search with
    ``reason`` ``role_missing`` in the problem, and the refusal is logged with that reason."""
    gemeente = stack.client("gemeente-demo")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    for answer in (
        gemeente.call("GET", "/v1/audit/entries"),
        gemeente.call("POST", "/v1/audit/entries/search", {"subject_bsn": BSN}),
    ):
        assert answer.status_code == 403, answer.text
        problem = answer.json()
        assert problem["type"] == "urn:ketenpoort:problem:forbidden"
        assert problem.get("reason") == "role_missing", problem
        assert BSN not in answer.text


# 012345672 is a BSN; written without its leading zero it is one too.
@pytest.mark.parametrize(
    "employee",
    [
        BSN,
        f"mw-{BSN}",
        "mw.12345672",
        # Separators the header lets through ("_" is \w) and superscripts (latin-1 \xb9\xb2\xb3,
        # \w but not \d): each read as a BSN once NFKC and the separators are out.
        "999_990_007",
        "9999900_07",
        "999:990:007",
        "999+990+007",
        "\u00b9\u00b2\u00b345672",
    ],
)
def test_an_employee_id_holding_a_bsn_is_refused(stack: Stack, employee: str) -> None:
    """Promise 7 (no BSN outside the vault): the X-Ketenpoort-Employee value is written in
    clear into audit entries; one that holds a BSN (9 digits, or 8 with the leading zero
    dropped, passing the 11-proof, in groups joined by any separator, any digit NFKC makes
    one) is refused as an invalid employee id (400) and no entry carries it."""
    gemeente = stack.client("gemeente-demo")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    # Sent as latin-1 bytes, as a partner's HTTP library puts "¹²³" on the wire.
    headers = {**gemeente.headers(), "X-Ketenpoort-Employee": employee.encode("latin-1")}
    answer = gemeente.http.get("/v1/audit/entries", headers=headers)
    with stack.runtime.db.engine.connect() as connection:
        bodies = [row[0] for row in connection.exec_driver_sql("SELECT body FROM audit_entries")]
    digits = employee.removeprefix("mw-").removeprefix("mw.")
    assert not any(digits in str(body) for body in bodies), "a BSN in the log in clear"
    assert answer.status_code == 400, answer.text
    assert employee not in answer.text


@pytest.mark.parametrize("employee", ["gm0363:1234", "gemeente-0363:t-1234-567", "mw.1234567"])
def test_an_employee_id_with_short_numbers_passes(stack: Stack, employee: str) -> None:
    """A peer gateway sends ``<party>:<employee>``: digits in the party id and in the
    employee id are counted apart, so a CBS-coded party's employees are not refused."""
    gemeente = stack.client("gemeente-demo")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    headers = {**gemeente.headers(), "X-Ketenpoort-Employee": employee}
    answer = gemeente.http.get("/v1/audit/entries", headers=headers)
    assert answer.status_code != 400, answer.text


def test_a_peer_case_id_holding_a_bsn_is_refused(stack: Stack) -> None:
    """Promise 7 (no BSN outside the vault): the federation routes log the peer's case id
    (``details.peer_case``) in clear, even on a refusal; a ``peer_case`` or a requester's
    ``employee`` that holds a BSN is a 422 without echo, and no entry carries it."""
    other = demo_people()[1].bsn.reveal()
    caller = stack.client("gemeente-demo")
    caller.login(DEMO_COVENANT, PURPOSE)
    answers = [
        caller.call("POST", "/v1/federation/known", {"subject": {"bsn": other}, "peer_case": BSN}),
        caller.call(
            "POST",
            "/v1/federation/known",
            {
                "subject": {"bsn": other},
                "requester": {"party": "gemeente-demo", "employee": f"mw-{BSN}"},
            },
        ),
    ]
    with stack.runtime.db.engine.connect() as connection:
        bodies = [row[0] for row in connection.exec_driver_sql("SELECT body FROM audit_entries")]
    assert not any(BSN in str(body) for body in bodies), "a BSN in the log in clear"
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert BSN not in answer.text
