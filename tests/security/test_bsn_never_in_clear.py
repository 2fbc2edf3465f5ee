"""Promise 7 (no BSN outside the vault): a whole scenario against a real server, then every
line the server wrote and every span it exported is searched for every test BSN.

The server runs as ``ketenpoort serve`` runs it (uvicorn, log level info, access log on);
its stdout/stderr, every log record from its threads and an in-memory OpenTelemetry span
exporter are captured while partners open a case and query, a rights request is filed,
the FG searches by BSN (API and /privacy), a caller tries a BSN in a query string and in a
path, and a person looks at their inzage on /mijn.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.settings import Settings
from gateway.telemetry import setup_telemetry
from tests.brokering.support import MOTIVATION, record_consent
from tests.security.fgscope_support import PURPOSE, partner, served_like_production
from tests.web.conftest import hidden_fields, login

PEOPLE = demo_people()
BSNS = [person.bsn.reveal() for person in PEOPLE]
SUBJECT, OTHER = BSNS[0], BSNS[1]


def encodings(bsn: str) -> set[str]:
    """The BSN as it could show up: plain, grouped, percent-encoded, base64, hex."""
    raw = bsn.encode()
    return {
        bsn,
        f"{bsn[:4]} {bsn[4:6]} {bsn[6:]}",
        f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}",
        "".join(f"%{byte:02X}" for byte in raw),
        "".join(f"%{byte:02x}" for byte in raw),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
    }


class ServerRecords(logging.Handler):
    """Every log record written by a thread other than the test's own (the server's)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._test_thread = threading.get_ident()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self._test_thread:
            self.lines.append(self.format(record))


@pytest.fixture
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    setup_telemetry(Settings(), extra_span_processors=(SimpleSpanProcessor(exporter),))
    return exporter


@pytest.fixture
def records() -> Iterator[ServerRecords]:
    handler = ServerRecords()
    names = ("", "uvicorn", "uvicorn.access", "uvicorn.error")
    loggers = [logging.getLogger(name) for name in names]
    root_level = loggers[0].level
    loggers[0].setLevel(logging.INFO)
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)
    loggers[0].setLevel(root_level)


def _scenario(stack: Stack) -> dict[str, bool]:
    """Run every step; what each step should have answered is checked after the leak search."""
    gemeente = partner(stack, "gemeente-demo")
    team = ["politie-demo", "ggz-demo", "woningcorporatie-demo", "reclassering-demo"]
    opened = gemeente.open_case(DEMO_COVENANT, PURPOSE, SUBJECT, team, "casusoverleg")
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    record_consent(gemeente, case_id)  # so the GGZ and verslavingszorg sources are asked too
    asked = gemeente.query(case_id, ["psychisch_welzijn", "huisvesting", "middelengebruik"])
    nosy = partner(stack, "woningcorporatie-demo")
    denied = nosy.query(case_id, ["justitiele_gegevens"], motivation=MOTIVATION)
    filed = gemeente.call(
        "POST",
        "/v1/rights-requests",
        {
            "type": "correctie",
            "subject": {"bsn": SUBJECT},
            "details": "adres klopt niet",
            "cases": [case_id],
        },
    )

    fg = partner(stack, "fg-demo")
    in_url = fg.http.get("/v1/audit/entries", params={"subject_bsn": OTHER}, headers=fg.headers())
    in_path = fg.http.get(f"/v1/subjects/{OTHER}", headers=fg.headers())
    found = fg.call("POST", "/v1/audit/entries/search", {"subject_bsn": SUBJECT})

    web = login(stack.base_url, "fg.demo", next_path="/privacy")
    form = hidden_fields(web.get("/privacy").text)
    form["bsn"] = SUBJECT
    searched = web.post("/privacy/search", data=form)
    export = web.get("/privacy/export.csv")

    person = login(stack.base_url, PEOPLE[0].label, next_path="/mijn")
    inzage = person.get("/mijn")
    printed = person.get("/mijn/afdruk")
    return {
        "query answered": asked.status_code == 200 and denied.status_code == 200,
        "rights request filed": filed.status_code == 201,
        "BSN in a URL refused with 422, not echoed": (
            in_url.status_code == 422 and OTHER not in in_url.text
        ),
        "unknown path is a 404": in_path.status_code == 404,
        "FG found the person by POST": found.status_code == 200 and bool(found.json()["entries"]),
        "FG found the case on /privacy": searched.status_code == 200 and case_id in searched.text,
        "FG exported": export.status_code == 200,
        "person saw their inzage": inzage.status_code == 200 and printed.status_code == 200,
    }


def test_no_bsn_in_logs_access_log_or_spans(
    migrated_url: str,
    tmp_path: Path,
    spans: InMemorySpanExporter,
    records: ServerRecords,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Promise 7: no BSN in clear outside the vault — not in a log line (uvicorn access log
    included), a span attribute, event or link, a URL, an error message or a traceback."""
    spans.clear()
    with served_like_production(migrated_url, tmp_path) as stack:
        steps = _scenario(stack)
    out, err = capfd.readouterr()
    exported = [span.to_json(indent=None) for span in spans.get_finished_spans()]

    assert any('"GET /v1/audit/entries?subject_bsn=' in line for line in out.splitlines()), (
        "the access log is on and shows the request with a BSN in its URL"
    )
    haystacks = {"stdout": out, "stderr": err, "log records": "\n".join(records.lines)}
    haystacks["spans"] = "\n".join(exported)
    for where, text in haystacks.items():
        for bsn in BSNS:
            for form in encodings(bsn):
                assert form not in text, f"{form!r} (a form of a test BSN) found in {where}"
    assert any("/v1/audit/entries/search" in span for span in exported)
    assert all(steps.values()), [step for step, ok in steps.items() if not ok]


def test_an_unexpected_exception_leaves_no_message_in_logs_or_spans(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """Promise 7: an exception whose message holds a BSN is answered as the ``internal``
    problem; neither the log (no traceback, no message) nor the span (no exception message,
    no stack trace) carries it. The route is a test route; the app is wired like the gateway."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from opentelemetry.trace import SpanKind, StatusCode

    from gateway.api.edge import Edge
    from gateway.api.errors import install_error_handlers
    from gateway.telemetry import instrument_app

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom/{anything}")
    def boom(anything: str) -> None:
        raise ValueError(f"lookup failed for {SUBJECT} ({anything})")

    app.add_middleware(Edge, hosts=["testserver"])
    instrument_app(app, setup_telemetry(Settings()))
    spans.clear()
    caplog.set_level(logging.DEBUG)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(f"/boom/{OTHER}")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert SUBJECT not in response.text
    # The test client's own httpx log line names the URL it asked for; that is not the server.
    server_records = [r for r in caplog.records if not r.name.startswith("httpx")]
    formatter = logging.Formatter()
    logged = "\n".join(formatter.format(record) for record in server_records)
    assert "ValueError" in logged and "in boom" in logged
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.status.status_code == StatusCode.ERROR
    exported = "\n".join(span.to_json(indent=None) for span in spans.get_finished_spans())
    for text, where in ((logged, "the log"), (exported, "the spans")):
        for bsn in (SUBJECT, OTHER):
            for form in encodings(bsn):
                assert form not in text, f"{form!r} found in {where}"
