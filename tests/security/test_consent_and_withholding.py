"""OvJ consent and inzage withholding under attack, over the real stack.

Promise 3 (criminal data only under the OvJ's consent, exactly as granted),
promise 1 (a verzet restricts disclosure) and the person's right of inzage
(AVG art. 15, limited only on a recorded ground and for a bounded time, UAVG
art. 41). Each test was seen to fail on the code before its fix (62d5261).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.audit.search import EntryQuery, search_entries
from gateway.cli.main import app as cli_app
from gateway.consent.models import ConsentRequest
from gateway.demo.stack import Stack
from gateway.policy import check_dir
from gateway.retention.runner import RunReport
from gateway.rights.inzage import GROUND_CRIMINAL_INVESTIGATION
from gateway.wiring.parts import build_retention_runner
from tests.brokering.support import (
    BSN,
    MOTIVATION,
    audit_entries,
    change_covenant,
    is_problem,
    logged_in,
    open_case,
    party_block,
    results,
)
from tests.consent.support import (
    CRIMINAL,
    CRIMINAL_SOURCES,
    ask,
    in_days,
    om,
    pending_id,
    set_valid_until,
    today,
)
from tests.rights.conftest import person_login
from tests.support.loopback import serve_app
from tests.web.conftest import hidden_fields, login

DETENTIE = "detentie"  # a second strafrechtelijk category (source dji-demo)
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
PROBLEM = "urn:ketenpoort:problem:"


def _decide(stack: Stack, consent_id: str, body: dict[str, Any]) -> httpx.Response:
    payload = {"decision": "granted", "reason": "proportioneel", "valid_until": in_days(30)}
    return om(stack).call("POST", f"/v1/consents/{consent_id}/decision", {**payload, **body})


def _widened_request(stack: Stack) -> tuple[Any, str, str]:
    """A request the OvJ reads for [justitiele_gegevens] that then grows by detentie."""
    gemeente, case_id = open_case(stack, participants=[*CRIMINAL_SOURCES, "dji-demo"])
    consent_id = pending_id(ask(gemeente, case_id))
    reviewed = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert reviewed["categories"] == [CRIMINAL]
    grown = ask(gemeente, case_id, [CRIMINAL, DETENTIE])
    assert pending_id(grown, DETENTIE) == consent_id, "the open request is reused and widened"
    return gemeente, case_id, consent_id


def _status(stack: Stack, consent_id: str) -> str:
    return str(om(stack).call("GET", f"/v1/consents/{consent_id}").json()["status"])


# --- item 4: a consent never widens after review ---------------------------------------


def test_grant_without_categories_is_refused_after_the_request_widened(stack: Stack) -> None:
    """Promise 3: a grant names its categories; it never covers what the request grew into."""
    gemeente, case_id, consent_id = _widened_request(stack)
    blank = _decide(stack, consent_id, {})
    assert blank.status_code == 422 and is_problem(blank), blank.text
    assert blank.json()["type"] == PROBLEM + "consent-categories-required"
    assert blank.json()["requested"] == [DETENTIE, CRIMINAL]
    assert _status(stack, consent_id) == "pending"

    granted = _decide(stack, consent_id, {"categories": [CRIMINAL], "version": 2})
    assert granted.status_code == 200, granted.text
    assert granted.json()["granted_categories"] == [CRIMINAL]
    after = ask(gemeente, case_id, [CRIMINAL, DETENTIE])
    assert all(after[(s, CRIMINAL)]["status"] == "ok" for s in CRIMINAL_SOURCES)
    later = after[("dji-demo", DETENTIE)]
    assert later["status"] == "pending_consent" and "records" not in later
    assert later["consent_id"] != consent_id, "B, added after review, needs its own request"


def test_grant_naming_a_stale_version_is_a_409(stack: Stack) -> None:
    """Promise 3: a grant reviewed at an older version of the request is refused (409)."""
    gemeente, case_id = open_case(stack, participants=[*CRIMINAL_SOURCES, "dji-demo"])
    consent_id = pending_id(ask(gemeente, case_id))
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json().get("version") == 1
    pending_id(ask(gemeente, case_id, [CRIMINAL, DETENTIE]))
    shown = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert shown["version"] == 2
    assert shown["categories"] == [DETENTIE, CRIMINAL]

    stale = _decide(stack, consent_id, {"categories": [CRIMINAL], "version": 1})
    assert stale.status_code == 409 and is_problem(stale), stale.text
    assert stale.json()["type"] == PROBLEM + "consent-request-changed"
    assert stale.json()["version"] == 2
    assert _status(stack, consent_id) == "pending"
    refused_stale = _decide(stack, consent_id, {"decision": "refused", "version": 1})
    assert refused_stale.status_code == 409

    current = _decide(stack, consent_id, {"categories": [CRIMINAL, DETENTIE], "version": 2})
    assert current.status_code == 200, current.text
    assert current.json()["granted_categories"] == [DETENTIE, CRIMINAL]


def test_case_phase_move_of_a_pending_request_is_a_new_version(stack: Stack) -> None:
    """Promise 3: the OvJ weighs the case phase; a request in a new phase must be re-read."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json().get("version") == 1
    moved = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "plan_van_aanpak"})
    assert moved.status_code == 200, moved.text
    assert pending_id(ask(gemeente, case_id)) == consent_id
    shown = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert (shown["version"], shown["case_phase"]) == (2, "plan_van_aanpak")
    stale = _decide(stack, consent_id, {"categories": [CRIMINAL], "version": 1})
    assert stale.status_code == 409, stale.text
    changed = [e for e in audit_entries(stack, case_id) if e["outcome"] == "changed"]
    assert [(e["kind"], e["reason"]) for e in changed] == [("consent", "case_phase_changed")]


@dataclass
class Receiver:
    url: str = ""
    calls: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[dict[str, str], Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            time.sleep(0.05)
        raise AssertionError(f"only {len(self.calls)} of {count} notices arrived")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The OM's system: a real HTTP server that accepts every notice."""
    app = FastAPI()
    found = Receiver()

    @app.post("/consent-requests")
    async def receive(request: Request) -> Response:
        body = json.loads(await request.body())
        with found.lock:
            found.calls.append((dict(request.headers), body))
        return Response(status_code=204)

    with serve_app(app) as base_url:
        found.url = base_url + "/consent-requests"
        yield found


def test_widening_is_logged_and_announced_to_the_om_again(stack: Stack, receiver: Receiver) -> None:
    """Promise 3 and 5: a pending request that grows is an audit entry and a new notice."""

    def add_hook(document: dict[str, Any]) -> None:
        party_block(document, "om-demo")["consent_webhook"] = {
            "url": receiver.url,
            "timeout_s": 2,
            "backoff_s": 0.2,
        }

    change_covenant(stack, add_hook)
    gemeente, case_id = open_case(stack, participants=[*CRIMINAL_SOURCES, "dji-demo"])
    consent_id = pending_id(ask(gemeente, case_id))
    receiver.wait_for(1)
    pending_id(ask(gemeente, case_id, [CRIMINAL, DETENTIE]))
    calls = receiver.wait_for(2)
    first, second = calls[0], calls[1]
    assert first[1]["event"] == "created" and first[1]["version"] == 1
    assert first[0]["idempotency-key"] == consent_id
    assert second[1]["consent_id"] == consent_id
    assert second[1]["event"] == "widened"
    assert second[1]["version"] == 2
    assert second[1]["categories"] == [DETENTIE, CRIMINAL]
    assert second[1]["added_categories"] == [DETENTIE]
    assert second[0]["idempotency-key"] == consent_id + ".v2", "not swallowed as a retry"
    assert BSN not in json.dumps(second[1])

    entries = [e for e in audit_entries(stack, case_id) if e["kind"] == "consent"]
    assert [(e["outcome"], e["consent_id"]) for e in entries] == [
        ("requested", consent_id),
        ("widened", consent_id),
    ]
    widened = entries[1]
    assert widened["reason"] == "categories_added"
    assert widened["party"] == "gemeente-demo"
    assert widened["details"]["added"] == DETENTIE

    pending_id(ask(gemeente, case_id, [CRIMINAL, DETENTIE]))
    time.sleep(0.5)
    assert len(receiver.calls) == 2, "asking the same again is no change"


def test_ovj_page_sends_categories_and_refuses_a_request_changed_since_opened(
    stack: Stack,
) -> None:
    """Promise 3 via /ovj: the form carries the version it showed; a grown request is a 409."""
    gemeente, case_id = open_case(stack, participants=[*CRIMINAL_SOURCES, "dji-demo"])
    consent_id = pending_id(ask(gemeente, case_id))
    ovj = login(stack.base_url, "ovj.demo", f"/ovj/{consent_id}")
    page = ovj.get(f"/ovj/{consent_id}")
    assert page.status_code == 200
    fields = hidden_fields(page.text)
    pending_id(ask(gemeente, case_id, [CRIMINAL, DETENTIE]))  # grows while the page is open

    posted = ovj.post(
        f"/ovj/{consent_id}/besluit",
        data={
            "csrf_token": fields["csrf_token"],
            "versie": fields.get("versie", "1"),
            "besluit": "granted",
            "categorie": CRIMINAL,
            "ontvanger": "gemeente-demo",
            "geldig_tot": in_days(30),
            "reden": "nodig voor plan van aanpak",
        },
    )
    assert posted.status_code == 409, posted.text
    assert "gewijzigd" in posted.text
    assert _status(stack, consent_id) == "pending"
    assert 'name="versie" value="2"' in posted.text


# --- item 17: the objection comes first ------------------------------------------------


def test_pending_verzet_denies_criminal_data_without_opening_a_consent_request(
    stack: Stack,
) -> None:
    """Promise 1: a pending verzet answers denied/objection and never asks the OvJ."""
    gemeente, case_id = open_case(stack)
    filed = gemeente.call(
        "POST",
        "/v1/rights-requests",
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "bezwaar", "cases": [case_id]},
    )
    assert filed.status_code == 201, filed.text
    found = results(gemeente.query(case_id, [CRIMINAL, "huisvesting"], motivation=MOTIVATION))
    assert found
    for result in found.values():
        assert (result["status"], result["reason"]) == ("denied", "objection"), result
        assert "consent_id" not in result or result["consent_id"] is None
        assert "records" not in result
    pending = om(stack).call("GET", "/v1/consents?status=pending").json()["consents"]
    assert [c for c in pending if c["case"] == case_id] == []
    kinds = {e["kind"] for e in audit_entries(stack, case_id)}
    assert "consent" not in kinds


# --- item 8 (part): refusals of non-OM parties are audited -------------------------------


def _refusals(stack: Stack, party: str) -> list[dict[str, Any]]:
    runtime = stack.runtime
    with runtime.db.session() as session:
        page = search_entries(
            session,
            runtime.audit.vault,
            EntryQuery(party=party, kind="consent", outcome="denied", limit=100),
        )
    return page.entries


def test_non_om_attempts_on_consents_are_refused_and_logged(stack: Stack) -> None:
    """Promise 5: every refusal leaves an entry with a machine-readable reason (not_om)."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    politie = logged_in(stack, "politie-demo")
    attempts = [
        ("list", politie.call("GET", "/v1/consents")),
        ("read", politie.call("GET", f"/v1/consents/{consent_id}")),
        (
            "decide",
            politie.call(
                "POST",
                f"/v1/consents/{consent_id}/decision",
                {
                    "decision": "granted",
                    "reason": "x",
                    "valid_until": in_days(10),
                    "categories": [CRIMINAL],
                },
            ),
        ),
        ("revoke", politie.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": "x"})),
    ]
    for action, response in attempts:
        assert response.status_code == 403 and is_problem(response), (action, response.text)
        assert response.json()["type"] == PROBLEM + "not-om", action
    logged = _refusals(stack, "politie-demo")
    assert sorted(e["details"]["action"] for e in logged) == ["decide", "list", "read", "revoke"]
    assert {e["reason"] for e in logged} == {"not_om"}
    assert {e["consent_id"] for e in logged if e["details"]["action"] != "list"} == {consent_id}
    assert all(e["employee"] for e in logged)
    unknown = politie.call("GET", "/v1/consents/oc-00000000000000000000")
    assert unknown.status_code == 403, "a non-OM party cannot tell unknown ids from real ones"
    assert _status(stack, consent_id) == "pending"


# --- items 14 and 15: withholding is bounded, shown, and survives retention --------------


def test_withheld_until_beyond_withheld_max_is_a_422(stack: Stack) -> None:
    """Inzage right: the OvJ cannot withhold past rights.withheld_max (default P4Y)."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    limit = date(today().year + 4, today().month, min(today().day, 28))
    far = _decide(stack, consent_id, {"categories": [CRIMINAL], "withheld_until": in_days(5 * 366)})
    assert far.status_code == 422 and is_problem(far), far.text
    body = far.json()
    assert body["type"] == PROBLEM + "consent-withheld-until"
    assert body["latest_allowed"] >= limit.isoformat()
    assert body["latest_allowed"] < in_days(4 * 366 + 1)
    assert _status(stack, consent_id) == "pending"
    ok = _decide(stack, consent_id, {"categories": [CRIMINAL], "withheld_until": in_days(60)})
    assert ok.status_code == 200, ok.text


def test_covenant_withheld_max_beyond_the_wjsg_term_is_an_error(tmp_path: Path) -> None:
    """Inzage right: a covenant may shorten withheld_max, never set it past P4Y."""
    policy_dir = tmp_path / "policies"
    shutil.copytree(REPO_POLICIES, policy_dir)
    demo = policy_dir / "demo-zvh.yaml"
    text = demo.read_text(encoding="utf-8")
    assert "  extension: P2M\n" in text
    demo.write_text(text.replace("  extension: P2M\n", "  extension: P2M\n  withheld_max: P5Y\n"))
    problems = check_dir(policy_dir, require_keys=False)
    found = [p for p in problems if "withheld_max" in p.message]
    assert found and found[0].severity == "error", problems
    demo.write_text(text.replace("  extension: P2M\n", "  extension: P2M\n  withheld_max: P2Y\n"))
    assert not [p for p in check_dir(policy_dir, require_keys=False) if p.severity == "error"]


def _cli_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.settings
    env = {
        "KETENPOORT_DATABASE_URL": settings.database_url,
        "KETENPOORT_KEY_DIR": str(settings.key_dir),
        "KETENPOORT_POLICY_DIR": str(settings.policy_dir),
        "KETENPOORT_BASE_URL": settings.base_url,
        "KETENPOORT_DEV_MODE": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_withholding_outlives_the_consent_row_until_its_date(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inzage right and promise 3: withheld criminal disclosures stay withheld (count, ground,
    until) after the consent expired and retention deleted its row; they appear after the date."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    withheld_until = in_days(90)
    granted = _decide(
        stack, consent_id, {"categories": [CRIMINAL], "withheld_until": withheld_until}
    )
    assert granted.status_code == 200, granted.text
    disclosed = ask(gemeente, case_id, [CRIMINAL, "huisvesting"])
    criminal = [k for k, r in disclosed.items() if k[1] == CRIMINAL and r["status"] == "ok"]
    assert len(criminal) == len(CRIMINAL_SOURCES)

    set_valid_until(stack, consent_id, today() - timedelta(days=1))
    _cli_env(stack, monkeypatch)
    runner = CliRunner()
    expired = runner.invoke(cli_app, ["consent", "expire"])
    assert expired.exit_code == 0, expired.output
    swept = runner.invoke(cli_app, ["retention", "run"])
    assert swept.exit_code == 0, swept.output
    with stack.runtime.db.session() as session:
        assert session.get(ConsentRequest, consent_id) is None, "retention removed the consent"

    person = person_login(stack, "persoon-a")
    inzage = person.get("/v1/me/disclosures").json()
    assert {d["category"] for d in inzage["disclosures"]} == {"huisvesting"}
    assert inzage["withheld"]["count"] == len(criminal)
    assert inzage["withheld"]["grounds"] == [GROUND_CRIMINAL_INVESTIGATION]
    assert inzage["withheld"]["until"] == withheld_until
    assert inzage["withheld"]["by_ground"][0]["until"] == withheld_until
    page = person.get("/mijn")
    assert page.status_code == 200
    shown_date = date.fromisoformat(withheld_until).strftime("%d-%m-%Y")
    assert f'niet getoond tot <span class="withheld-until">{shown_date}</span>' in page.text

    # On the date itself the withholding ends: retention removes it and the person sees all.
    report = _run_retention_at(stack, _midnight(withheld_until) + timedelta(hours=1))
    assert report.rule("withholdings").rows == 1  # one (case, category, recipient)
    assert _withholdings(stack) == []
    after = person.get("/v1/me/disclosures").json()
    assert after["withheld"]["count"] == 0
    assert CRIMINAL in {d["category"] for d in after["disclosures"]}


def _withholdings(stack: Stack) -> list[tuple[str, str, str, str]]:
    """The withholdings table (imported here so that the other tests also run on old code)."""
    from gateway.consent.withholdings import Withholding

    with stack.runtime.db.session() as session:
        rows = session.scalars(select(Withholding)).all()
        return [(r.case_id, r.category, r.recipient, r.until.isoformat()) for r in rows]


def _midnight(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)


def _run_retention_at(stack: Stack, now: datetime) -> RunReport:
    """The retention runner as ``retention run`` builds it, judging by ``now``."""
    runner = build_retention_runner(stack.runtime.foundations, None, now=lambda: now)
    return asyncio.run(runner.run())


def test_withholding_is_kept_when_the_retention_rule_runs_before_its_date(stack: Stack) -> None:
    """Inzage right: the withholdings rule never removes a withholding still in force."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    until = in_days(30)
    granted = _decide(stack, consent_id, {"categories": [CRIMINAL], "withheld_until": until})
    assert granted.status_code == 200, granted.text
    report = _run_retention_at(stack, _midnight(until) - timedelta(seconds=1))
    assert report.rule("withholdings").rows == 0
    assert _withholdings(stack) == [(case_id, CRIMINAL, "gemeente-demo", until)]
