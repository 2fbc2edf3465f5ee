"""Every step under the person's own key; erasure shreds it and the log still verifies.

Also: disclosures withheld on a legal ground are counted and named, and overdue
requests reach the officer (API, /privacy provider, the metric callback).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from gateway.audit.erasure import erase_subject
from gateway.audit.integrity import verify_database
from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.stack import Stack
from gateway.rights.inzage import GROUND_CRIMINAL_INVESTIGATION
from gateway.rights.models import RightsRequest
from gateway.rights.overdue import OVERDUE_LABEL, observe_overdue
from gateway.subjects.bsn import Bsn
from gateway.web.privacy.rights import overdue_provider
from tests.brokering.support import BSN, MOTIVATION, logged_in, open_case, results
from tests.rights.conftest import person_login


def rights_entries(stack: Stack, pseudonym: str) -> list[dict[str, Any]]:
    with stack.runtime.db.session() as session:
        page = search_entries(
            session,
            stack.runtime.audit.vault,
            EntryQuery(subject_pseudonym=pseudonym, kind="rights", limit=500),
        )
    return page.entries


def test_every_step_is_logged_under_the_subject_and_erasure_shreds_it(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    body = gemeente.call(
        "POST",
        "/v1/rights-requests",
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "geheim", "cases": [case_id]},
    ).json()
    path = f"/v1/rights-requests/{body['id']}"
    decided = gemeente.call("POST", path + "/decision", {"decision": "refused", "reason": "r"})
    assert decided.status_code == 200
    assert logged_in(stack, "fg-demo").call("GET", path).status_code == 200
    person_login(stack, "persoon-a").get("/v1/me/disclosures")

    pseudonym = stack.runtime.pseudonymizer.pseudonym(Bsn(BSN))
    entries = rights_entries(stack, pseudonym)
    outcomes = sorted(e["outcome"] for e in entries)
    forwards = ["forward_forwarded"] * len(body["forwarded"])
    assert len(forwards) == 5
    shown = ["inzage_shown", "inzage_shown"]  # the portal page after login, then the API
    assert outcomes == sorted(["filed", *forwards, "refused", "viewed", *shown])
    assert all(e["subject_scope"] == "subject" and e["subject"] == pseudonym for e in entries)
    assert all("geheim" not in str(e) for e in entries)
    seqs = [e["seq"] for e in entries]

    erase_subject(stack.runtime.db, pseudonym)

    assert rights_entries(stack, pseudonym) == []
    with stack.runtime.db.session() as session:
        for seq in seqs:
            page = search_entries(
                session, stack.runtime.audit.vault, EntryQuery(time_from=None, limit=500)
            )
            found = [e for e in page.entries if e["seq"] == seq]
            assert found and found[0]["subject"] == "erased"
    shown = logged_in(stack, "fg-demo").call("GET", path).json()
    assert shown["details"] is None and shown["reason"] is None
    stack.runtime.audit.checkpoint_now()
    verified = verify_database(stack.runtime.db, stack.runtime.audit.signer.jwks())  # type: ignore[union-attr]
    assert verified.result.ok, verified.result.problem


def test_withheld_disclosures_are_counted_with_their_ground(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    asked = results(
        gemeente.query(case_id, ["justitiele_gegevens"], ["politie-demo"], motivation=MOTIVATION)
    )
    pending = asked[("politie-demo", "justitiele_gegevens")]
    assert pending["status"] == "pending_consent"
    ovj = logged_in(stack, "om-demo")
    today = datetime.now(UTC).date()
    decided = ovj.call(
        "POST",
        f"/v1/consents/{pending['consent_id']}/decision",
        {
            "decision": "granted",
            "reason": "Noodzakelijk voor het plan van aanpak.",
            "valid_until": (today + timedelta(days=30)).isoformat(),
            "withheld_until": (today + timedelta(days=60)).isoformat(),
            "categories": ["justitiele_gegevens"],
        },
    )
    assert decided.status_code == 200, decided.text
    disclosed = results(
        gemeente.query(case_id, ["justitiele_gegevens", "huisvesting"], motivation=MOTIVATION)
    )
    assert disclosed[("politie-demo", "justitiele_gegevens")]["status"] == "ok"

    inzage = person_login(stack, "persoon-a").get("/v1/me/disclosures").json()
    criminal = [
        k for k, r in disclosed.items() if k[1] == "justitiele_gegevens" and r["status"] == "ok"
    ]
    assert len(criminal) >= 1
    assert inzage["withheld"]["count"] == len(criminal)
    assert inzage["withheld"]["grounds"] == [GROUND_CRIMINAL_INVESTIGATION]
    assert all(d["category"] != "justitiele_gegevens" for d in inzage["disclosures"])
    assert {d["category"] for d in inzage["disclosures"]} == {"huisvesting"}


def test_overdue_requests_reach_the_officer_and_the_metric(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    filed = [
        gemeente.call(
            "POST",
            "/v1/rights-requests",
            {"type": kind, "subject": {"bsn": BSN}, "details": "x", "cases": [case_id]},
        ).json()
        for kind in ("correctie", "verzet")
    ]
    late, on_time = filed[0]["id"], filed[1]["id"]
    with stack.runtime.db.session() as session:
        session.execute(
            update(RightsRequest)
            .where(RightsRequest.id == late)
            .values(deadline=datetime.now(UTC) - timedelta(days=1))
        )
    fg = logged_in(stack, "fg-demo")
    overdue = fg.call("GET", "/v1/rights-requests?overdue=true").json()["requests"]
    assert [r["id"] for r in overdue] == [late]
    assert overdue[0]["overdue"] is True and overdue[0]["details"] is None
    assert gemeente.call("GET", "/v1/rights-requests?overdue=true").status_code == 403
    soon = fg.call("GET", "/v1/rights-requests?due_within_days=30").json()["requests"]
    assert {r["id"] for r in soon} == {late, on_time}

    provider = overdue_provider(stack.runtime)
    assert provider is not None
    listed = provider.overdue(datetime.now(UTC), ["zvh-demo"])
    assert [(r.id, r.status) for r in listed] == [(late, OVERDUE_LABEL)]
    assert provider.overdue(datetime.now(UTC), ["another-covenant"]) == []
    [observation] = list(observe_overdue(None))  # type: ignore[arg-type]
    assert observation.value >= 1
    assert date.today() <= listed[0].received.date() + timedelta(days=1)
