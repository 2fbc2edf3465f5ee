"""A consent request and its ``consent``/``requested`` entry commit together (issue 15).

The OM's webhook goes out after the request row commits. If the entry were
written only with the query's answers (after every source has answered), the
OM could hear of, and the OvJ decide on, a request the log does not know yet,
and a query that failed after planning would leave a request without its entry.
Here a source is slow, so the query is still waiting when the webhook arrives:
the receiver (the OM's real HTTP server) reads the log at that moment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from gateway.demo.stack import Stack
from tests.brokering.support import audit_entries, change_covenant, open_case, party_block
from tests.consent.support import CRIMINAL, ask, pending_id
from tests.support.loopback import serve_app

SLOW_S = 2.0
PERMITTED = "huisvesting"


@dataclass
class Seen:
    """What the log held for the case each time the webhook arrived."""

    url: str = ""
    case_id: str = ""
    requested: list[list[str]] = field(default_factory=list)


@pytest.fixture
def om_system(stack: Stack) -> Iterator[Seen]:
    app = FastAPI()
    seen = Seen()

    @app.post("/consent-requests")
    def receive(request: Request) -> Response:
        entries: list[dict[str, Any]] = audit_entries(stack, seen.case_id)
        seen.requested.append(
            [
                str(e["consent_id"])
                for e in entries
                if e["kind"] == "consent" and e["outcome"] == "requested"
            ]
        )
        return Response(status_code=204)

    with serve_app(app) as base_url:
        seen.url = base_url + "/consent-requests"
        yield seen


def test_the_request_entry_is_in_the_log_before_the_om_hears_of_it(
    stack: Stack, om_system: Seen
) -> None:
    def add_hook(document: dict[str, Any]) -> None:
        party_block(document, "om-demo")["consent_webhook"] = {"url": om_system.url}

    change_covenant(stack, add_hook)
    for party in stack.sources.base_urls:
        stack.sources.source(party).delay_s = SLOW_S
    gemeente, case_id = open_case(stack)
    om_system.case_id = case_id

    started = time.monotonic()
    found = ask(gemeente, case_id, [CRIMINAL, PERMITTED])
    assert time.monotonic() - started >= SLOW_S, "a permitted source was asked (and slow)"
    consent_id = pending_id(found)

    deadline = time.monotonic() + 10
    while not om_system.requested and time.monotonic() < deadline:
        time.sleep(0.05)
    assert om_system.requested, "the OM's system heard of the request"
    assert om_system.requested[0] == [consent_id], (
        "when the OM hears of a request, its consent/requested entry is already committed"
    )
    requested = [
        e
        for e in audit_entries(stack, case_id)
        if e["kind"] == "consent" and e["outcome"] == "requested"
    ]
    assert [e["consent_id"] for e in requested] == [consent_id], "one entry, not two"
