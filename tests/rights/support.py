"""Steps the rights tests share: file as the person, move deadlines, read the person's log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.stack import Stack
from gateway.rights.models import RightsRequest
from gateway.subjects.bsn import Bsn
from tests.brokering.support import change_covenant
from tests.rights.conftest import csrf_of

SOURCE_PARTIES = {
    "gemeente-demo",
    "politie-demo",
    "reclassering-demo",
    "ggz-demo",
    "verslavingszorg-demo",
    "woningcorporatie-demo",
    "dji-demo",
}


def file_as_person(person: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = person.post(
        "/v1/rights-requests", json=body, headers={"X-Ketenpoort-CSRF": csrf_of(person)}
    )
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def set_times(stack: Stack, request_id: str, **values: datetime | None) -> None:
    """Move a request's moments (received, deadline, ...) as if time had passed."""
    with stack.runtime.db.session() as session:
        session.execute(
            update(RightsRequest).where(RightsRequest.id == request_id).values(**values)
        )


def rights_entries(stack: Stack, bsn: str) -> list[dict[str, Any]]:
    """Every ``rights`` entry about the person, oldest first (the officer's search)."""
    runtime = stack.runtime
    pseudonym = runtime.pseudonymizer.pseudonym(Bsn(bsn))
    with runtime.db.session() as session:
        page = search_entries(
            session,
            runtime.audit.vault,
            EntryQuery(subject_pseudonym=pseudonym, kind="rights", limit=500),
        )
    return sorted(page.entries, key=lambda entry: int(entry["seq"]))


def denied_entries(stack: Stack, request_id: str) -> list[dict[str, Any]]:
    """Refused steps of one request (they carry no subject: see gateway/rights/refusals.py)."""
    runtime = stack.runtime
    with runtime.db.session() as session:
        page = search_entries(
            session,
            runtime.audit.vault,
            EntryQuery(kind="rights", outcome="denied", limit=500),
        )
    mine = [e for e in page.entries if (e.get("details") or {}).get("request") == request_id]
    return sorted(mine, key=lambda entry: int(entry["seq"]))


def patient_sources(stack: Stack, timeout_s: float = 15.0) -> None:
    """Give every source more time: on a loaded test machine the first exchange (each
    source fetching the gateway's keys) can pass the demo covenant's 2 s."""

    def slower(document: dict[str, Any]) -> None:
        for party in document["parties"]:
            if isinstance(party.get("source"), dict):
                party["source"]["timeout_s"] = timeout_s

    change_covenant(stack, slower)
