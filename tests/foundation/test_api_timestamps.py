"""Every timestamp the API answers is ISO 8601 with an offset, on SQLite and PostgreSQL.

SQLite hands timezone-aware columns back naive; before issue 20 the answer to
``GET /v1/cases/{id}`` dropped the ``+00:00`` its POST answer had.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from gateway.demo.stack import Stack
from tests.brokering.support import BSN, open_case
from tests.consent.support import ask, om, pending_id

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _stamps(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _stamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _stamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and STAMP.match(value):
        yield path, value


def _assert_offsets(body: Any, what: str) -> int:
    found = list(_stamps(body))
    for path, value in found:
        assert datetime.fromisoformat(value).utcoffset() is not None, f"{what}{path}: {value}"
    return len(found)


def test_every_api_timestamp_carries_an_offset(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    fetched = gemeente.call("GET", f"/v1/cases/{case_id}")
    assert fetched.status_code == 200, fetched.text
    assert _assert_offsets(fetched.json(), "GET /v1/cases/{id}") >= 2  # created_at, updated_at

    consent_id = pending_id(ask(gemeente, case_id))
    consent = om(stack).call("GET", f"/v1/consents/{consent_id}")
    assert consent.status_code == 200, consent.text
    assert _assert_offsets(consent.json(), "GET /v1/consents/{id}") >= 1

    filed = gemeente.call(
        "POST",
        "/v1/rights-requests",
        {"type": "correctie", "subject": {"bsn": BSN}, "details": "Adres", "cases": [case_id]},
    )
    assert filed.status_code == 201, filed.text
    assert _assert_offsets(filed.json(), "POST /v1/rights-requests") >= 2
    again = gemeente.call("GET", f"/v1/rights-requests/{filed.json()['id']}")
    assert again.status_code == 200, again.text
    assert _assert_offsets(again.json(), "GET /v1/rights-requests/{id}") >= 2
