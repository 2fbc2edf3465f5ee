"""Small steps the brokering tests share: log in, open a case, read results and the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people

CASUSOVERLEG = "pga-casusoverleg"
TRIAGE = "zvh-triage"
PERSON = demo_people()[0]  # persoon-a, known to every demo source
BSN = PERSON.bsn.reveal()
TEAM = ["politie-demo", "reclassering-demo", "ggz-demo", "woningcorporatie-demo"]

Results = dict[tuple[str | None, str], dict[str, Any]]
# Queries for strafrechtelijke gegevens say why (API.md §3); a code from the demo covenant.
MOTIVATION = {"code": "plan_van_aanpak", "text": "nodig voor het plan van aanpak"}


def logged_in(stack: Stack, party: str, purpose: str = CASUSOVERLEG) -> PartnerClient:
    client = stack.client(party)
    client.login(DEMO_COVENANT, purpose)
    return client


def open_case(
    stack: Stack,
    *,
    phase: str = "casusoverleg",
    participants: list[str] | None = None,
    purpose: str = CASUSOVERLEG,
    bsn: str = BSN,
    consent: bool = False,
) -> tuple[PartnerClient, str]:
    """gemeente-demo (procesregie) opens a case; returns its client and the case id.

    ``consent``: also record the person's signed consent for the GGZ and
    verslavingszorg categories, which the demo covenant's rules require (API.md §2b).
    """
    gemeente = logged_in(stack, "gemeente-demo", purpose)
    team = TEAM if participants is None else participants
    response = gemeente.open_case(DEMO_COVENANT, purpose, bsn, team, phase)
    assert response.status_code == 201, response.text
    case_id = str(response.json()["id"])
    if consent:
        record_consent(gemeente, case_id)
    return gemeente, case_id


HEALTH_CATEGORIES = ["psychisch_welzijn", "middelengebruik"]


def record_consent(client: PartnerClient, case_id: str) -> str:
    """The person's consent (toestemming_betrokkene) for the health categories; its id."""
    response = client.call(
        "POST",
        f"/v1/cases/{case_id}/grounds",
        {
            "ground": "toestemming_betrokkene",
            "reference": "toestemmingsformulier privacy getekend",
            "categories": HEALTH_CATEGORIES,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def results(response: httpx.Response) -> Results:
    assert response.status_code == 200, response.text
    body = response.json()
    found: Results = {}
    for result in body["results"]:
        key = (result["source"], result["category"])
        assert key not in found, f"two results for {key}"
        found[key] = result
    return found


def audit_entries(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    """Every audit entry of a case, oldest first, read through the officer's search."""
    runtime = stack.runtime
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    with runtime.db.session() as session:
        while True:
            page = search_entries(
                session, runtime.audit.vault, EntryQuery(case=case_id, cursor=cursor, limit=500)
            )
            entries += page.entries
            if page.next is None:
                break
            cursor = page.next
    return sorted(entries, key=lambda entry: int(entry["seq"]))


def change_covenant(stack: Stack, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the stack's own covenant copy and reload it (as the file watcher would)."""
    path = stack.settings.policy_dir / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    problems = stack.runtime.policy.reload()
    assert not [p for p in problems if p.severity == "error"], problems


def party_block(document: dict[str, Any], party_id: str) -> dict[str, Any]:
    block: dict[str, Any] = next(p for p in document["parties"] if p["id"] == party_id)
    return block


def is_problem(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/problem+json")


def sqlite_partner(path: Path) -> str:
    """A partner's own SQLite database for an ``sql`` source: ``woning`` rows of two people."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE TABLE woning (id TEXT, bsn TEXT, updated TEXT, woonsituatie TEXT,
                                 sinds TEXT, adres TEXT, interne_notitie TEXT);
            """
        )
        connection.executemany(
            "INSERT INTO woning VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "w-1",
                    BSN,
                    "2026-10-02T08:00:00+00:00",
                    "huurwoning",
                    "2020-01-01",
                    "Dorpsstraat 1",
                    "achterstand, niet delen",
                ),
                (
                    "w-2",
                    "999990019",
                    "2026-10-02T08:00:00+00:00",
                    "begeleid",
                    "2021-01-01",
                    "Kerkplein 2",
                    "iemand anders",
                ),
            ],
        )
    return f"sqlite:///{path}"
