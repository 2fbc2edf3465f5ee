"""gateway.redaction: what a caller writes into a URL or a header reaches no log or span as a BSN.

Query values always go; a query parameter *name* holding a BSN (plain,
percent-encoded or after a ``+``) went out in clear in the access log and in
``http.url`` until the names got the digit rule too, and so did a BSN in the
host part of a URL. :func:`redact_span` looks only at the attributes a span has,
and still redacts every one it covers.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

from gateway import redaction
from gateway.redaction import (
    HEADER_ATTRIBUTES,
    QUERY_ATTRIBUTES,
    REDACTED,
    TARGET_ATTRIBUTES,
    URL_ATTRIBUTES,
    AccessLogRedaction,
    redact_path,
    redact_query,
    redact_request_url,
    redact_span,
    redact_target,
    redact_url,
)
from gateway.subjects.bsn import holds_bsn
from gateway.telemetry.server import request_attributes

BSN = "111222333"
PERCENT = "".join(f"%{byte:02X}" for byte in BSN.encode())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a=1&b=2", "a=redacted&b=redacted"),
        (f"subject={BSN}", "subject=redacted"),
        (f"{BSN}=1", "redacted=redacted"),
        (f"{PERCENT}=1", "redacted=redacted"),
        (f"{PERCENT.lower()}", "redacted=redacted"),
        (f"x+{BSN}=1&y", "redacted=redacted&y=redacted"),
        ("page=3&&cursor=", "page=redacted&&cursor=redacted"),
        ("a%20b=1", "a%20b=redacted"),  # a name is shown as sent, not decoded
        ("n" * 50 + "=1", "n" * 40 + "=redacted"),
        ("id1234567=1", "id1234567=redacted"),  # seven digits: not a BSN's shape
    ],
)
def test_query_values_go_and_names_with_a_bsn_too(query: str, expected: str) -> None:
    assert redact_query(query) == expected


def test_a_url_loses_user_info_query_values_and_digit_runs_in_host_and_path() -> None:
    url = f"https://user:pw@dossier{BSN}.example:8443/v1/x/{BSN}?{BSN}=1&a=2#frag"
    assert (
        redact_url(url)
        == "https://dossierredacted.example:8443/v1/x/redacted?redacted=redacted&a=redacted"
    )
    assert (
        redact_request_url("https", f"u@dossier{BSN}.example:8443", f"/v1/x/{BSN}", f"{BSN}=1&a=2")
        == "https://dossierredacted.example:8443/v1/x/redacted?redacted=redacted&a=redacted"
    )
    assert redact_request_url("http", "h", "/p", "") == "http://h/p"


def test_the_access_log_line_loses_a_bsn_in_a_query_name() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/cases/{BSN}?{PERCENT}=1&q={BSN}", "1.1", 404),
        None,
    )
    assert AccessLogRedaction().filter(record)
    line = record.getMessage()
    assert (
        line
        == '127.0.0.1:5000 - "GET /v1/cases/redacted?redacted=redacted&q=redacted HTTP/1.1" 404'
    )


def test_redact_span_redacts_every_attribute_it_covers_and_nothing_else() -> None:
    tracer = TracerProvider().get_tracer("test")
    covered = (*URL_ATTRIBUTES, *TARGET_ATTRIBUTES, *QUERY_ATTRIBUTES, *HEADER_ATTRIBUTES)
    values = {name: f"https://h/{BSN}?subject={BSN}" for name in URL_ATTRIBUTES}
    values |= {name: f"/p/{BSN}?subject={BSN}" for name in TARGET_ATTRIBUTES}
    values |= {name: f"subject={BSN}" for name in QUERY_ATTRIBUTES}
    values |= {name: f"agent ({BSN})" for name in HEADER_ATTRIBUTES}
    span = tracer.start_span("s", attributes={**values, "ketenpoort.case": "c-1", "n": 123456789})
    redact_span(span)
    attributes = dict(span.attributes or {})  # type: ignore[attr-defined]
    span.end()
    assert set(covered) <= set(attributes)
    for name in covered:
        assert BSN not in str(attributes[name]), name
    assert attributes["ketenpoort.case"] == "c-1" and attributes["n"] == 123456789
    assert attributes["url.query"] == "subject=redacted"
    assert attributes["user_agent.original"] == "agent (redacted)"


def test_redact_span_leaves_a_span_without_those_attributes_alone() -> None:
    tracer = TracerProvider().get_tracer("test")
    bare = tracer.start_span("bare")
    redact_span(bare)
    assert not bare.attributes  # type: ignore[attr-defined]
    bare.end()
    redact_span(bare)  # an ended span is not recording: nothing to do, no error


@pytest.mark.parametrize(
    "written",
    [
        "9999 90 007",
        "9999.90.007",
        "999-990-007",
        "\u0669\u0669\u0669\u0669\u0669\u0660\u0660\u0660\u0667",  # Arabic-Indic digits
        "2026-10000008",  # 010000008 without its leading zero, in a grouped number
        "999_990_007",
        "999/990/007",
        "999:990:007",
        "999\u200b990\u00ad007",  # zero-width space and soft hyphen inside
        "999 - 990 - 007",
        "\u00b9\u00b2\u00b345672",  # superscript digits: 012345672 without its zero
    ],
)
def test_a_bsn_written_as_people_write_it_never_reaches_a_span(written: str) -> None:
    """The path, Host and User-Agent a caller sends reach span attributes as sent, redacted."""
    scope = {
        "type": "http",
        "scheme": "http",
        "path": f"/v1/cases/{written}/queries",
        "query_string": b"",
        "headers": [
            (b"host", b"gateway.test"),
            (b"user-agent", f"x {written}".encode()),
        ],
    }
    attributes, metric_attributes, _ = request_attributes(scope, "GET", None)  # type: ignore[arg-type]

    shown = " ".join(str(value) for value in {**attributes, **metric_attributes}.values())
    assert not holds_bsn(shown), shown
    shown_alone = redact_path(f"a {written} b")
    # The number goes whole, or (a long run inside a group) its long run goes.
    assert shown_alone.startswith("a ") and shown_alone.endswith(" b")
    assert REDACTED in shown_alone and not holds_bsn(shown_alone), shown_alone


@pytest.mark.parametrize("path", ["/v1/cases/12345678/1", "/v1/cases/31999990007/2"])
def test_a_long_run_inside_a_grouped_number_is_redacted(path: str) -> None:
    """Once ``/`` joined groups, a long run beside a short one went through the 11-proof
    only and reached spans as sent (review): any run of 8+ digits goes, as before."""
    shown = redact_target(path)
    assert "12345678" not in shown and "999990007" not in shown, shown


def test_other_numbers_stay_readable() -> None:
    for kept in ("127.0.0.1:8000", "01-12-2026", "/v1/cases/c-123/queries", "v1.2.3"):
        assert redact_path(kept) == kept


_NUMBER_TEXT = st.text(alphabet="0123456789 .-:/_,\u0669\u00b9\u200b", max_size=24)


@given(st.lists(_NUMBER_TEXT, min_size=1, max_size=6))
def test_a_number_remembered_as_clear_shows_as_a_fresh_look_shows_it(values: list[str]) -> None:
    """The memo of clear numbers (the server's and Host's "10.0.0.5:8443" each request)
    changes no outcome: each value redacts as with an empty memo, asked once or again."""
    for value in values:
        redaction._CLEAR_NUMBERS.clear()
        fresh = redact_path(value)
        assert redact_path(value) == fresh  # the second time from the memo
    for value in values:  # with every other value remembered meanwhile
        assert redact_path(value) == redact_path(value)
    assert all(not holds_bsn(kept) for kept in redaction._CLEAR_NUMBERS)


def test_a_number_that_holds_a_bsn_is_never_remembered() -> None:
    redaction._CLEAR_NUMBERS.clear()
    for written in ("9999 90 007", "999-990-007", "127.0.0.1:8000", "999999990007", "12345678/1"):
        redact_path(f"/v1/cases/{written}")
        redact_path(f"/v1/cases/{written}")
    assert set(redaction._CLEAR_NUMBERS) == {"127.0.0.1:8000"}
    assert redact_path("/v/9999 90 007") == f"/v/{REDACTED}"


def test_the_memo_of_clear_numbers_is_bounded() -> None:
    redaction._CLEAR_NUMBERS.clear()
    for port in range(redaction._CLEAR_MAX * 2):
        redact_path(f"10.0.0.5:{10000 + port}")
    assert 0 < len(redaction._CLEAR_NUMBERS) <= redaction._CLEAR_MAX
    redact_path("10.0.0.5:" + "1" * 60)  # a long one is not kept
    assert all(len(kept) <= redaction._CLEAR_LENGTH for kept in redaction._CLEAR_NUMBERS)
