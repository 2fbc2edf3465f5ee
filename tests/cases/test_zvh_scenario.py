"""Issue 17, "done when": one household case walked the way a Zorg- en Veiligheidshuis works.

A police referral (phase ``aanmelding``), triage by the procesregie, a child and a
victim added, the person's consent for GGZ data (denied ``ground_required``
before, disclosed after, stopped again once withdrawn), an OvJ request with a
motivation that is refused (the refusal stands: no new request) and then granted
narrower after a new motivation (one source, one field — only that field
leaves), the phases along the covenant's machine (an illegal jump is ``409``),
and closure with a reason. Every step is in the audit log with its ground or
reason, and no BSN appears in any answer or entry.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.demo.partner_client import PartnerClient
from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.problems import problem_type
from tests.brokering.support import CASUSOVERLEG, MOTIVATION, audit_entries, logged_in, results
from tests.consent.support import CRIMINAL, decide, grant, om, pending_id
from tests.grounds.support import GGZ, recorded, withdraw

PEOPLE = demo_people()
MAIN = PEOPLE[0].bsn.reveal()  # persoon-a, known to every demo source
CHILD = PEOPLE[2].bsn.reveal()
VICTIM = PEOPLE[3].bsn.reveal()
ALL_BSNS = (MAIN, CHILD, VICTIM)
NEW_MOTIVATION = {"code": "risico_geweld", "text": "nieuwe dreiging richting het slachtoffer"}
GRANTED_FIELD = "lopende_zaken"


class Answers:
    """Every answer the scenario received, so none may carry a BSN."""

    def __init__(self) -> None:
        self.seen: list[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> httpx.Response:
        self.seen.append(response)
        return response

    def json(self, response: httpx.Response, status: int = 200) -> Any:
        self(response)
        assert response.status_code == status, response.text
        return response.json()


def _query(
    answers: Answers,
    client: PartnerClient,
    case_id: str,
    categories: list[str],
    motivation: dict[str, str] | None = None,
) -> dict[tuple[str | None, str], dict[str, Any]]:
    return results(answers(client.query(case_id, categories, motivation=motivation)))


def test_one_household_case_from_referral_to_closure(stack: Stack) -> None:
    answers = Answers()

    # 1. The police refer the person (aanmelding); they see only status and triage outcome.
    politie = logged_in(stack, "politie-demo")
    referral = {
        "convenant": DEMO_COVENANT,
        "purpose": CASUSOVERLEG,
        "subject": {"bsn": MAIN},
        "phase": "aanmelding",
        "case_type": "huiselijk_geweld",
        "municipality": "GM0106",
    }
    referred = answers.json(politie.call("POST", "/v1/cases", referral), 201)
    case_id = referred["id"]
    assert (referred["referrer"], referred["triage_outcome"]) == ("politie-demo", None)

    # 2. Triage by the procesregie: opgepakt, the case moves to triage.
    gemeente = logged_in(stack, "gemeente-demo")
    triage = {"outcome": "opgepakt", "reason": "meerdere leefgebieden en ketens"}
    triaged = answers.json(gemeente.call("POST", f"/v1/cases/{case_id}/triage", triage))
    assert triaged["phase"] == "triage" and triaged["triage"]["decided_by"] == "gemeente-demo"
    status = answers.json(politie.call("GET", f"/v1/cases/{case_id}"))
    assert status["triage_outcome"] == "opgepakt"

    # 3. An illegal jump is refused along the covenant's machine; the legal move is logged.
    jump = answers(gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"}))
    assert jump.status_code == 409, jump.text
    assert jump.json()["type"] == problem_type("phase-transition")
    assert jump.json()["allowed"] == ["casusoverleg", "afgesloten"]
    _move(answers, gemeente, case_id, "casusoverleg", "eerste casusoverleg gepland")

    # 4. The team joins; a child and a victim join the case as subjects.
    for party in ("politie-demo", "reclassering-demo", "ggz-demo"):
        answers.json(gemeente.call("POST", f"/v1/cases/{case_id}/participants", {"party": party}))
    for bsn, role in ((CHILD, "kind"), (VICTIM, "slachtoffer")):
        body = {"bsn": bsn, "role": role}
        answers.json(gemeente.call("POST", f"/v1/cases/{case_id}/subjects", body), 201)
    case = answers.json(gemeente.call("GET", f"/v1/cases/{case_id}"))
    assert [(s["ref"], s["role"]) for s in case["subjects"]] == [
        ("s1", "hoofdpersoon"),
        ("s2", "kind"),
        ("s3", "slachtoffer"),
    ]

    # 5. GGZ data needs the person's consent: denied before, disclosed after.
    before = _query(answers, gemeente, case_id, [GGZ])[("ggz-demo", GGZ)]
    assert (before["status"], before["reason"]) == ("denied", "ground_required")
    ggz = logged_in(stack, "ggz-demo")
    ground = recorded(ggz, case_id)
    answers.seen.append(ggz.call("GET", f"/v1/cases/{case_id}/grounds"))
    after = _query(answers, gemeente, case_id, [GGZ])[("ggz-demo", GGZ)]
    assert after["status"] == "ok", after
    assert after["records"][0]["fields"]["diagnose_samenvatting"] == "PTSS (vermoeden)"

    # 6. The OvJ refuses the first motivation; the refusal stands for the next query.
    ovj = om(stack)
    first = pending_id(_query(answers, gemeente, case_id, [CRIMINAL], MOTIVATION))
    refused = decide(ovj, first, decision="refused", reason="niet proportioneel")
    answers.json(refused)
    again = _query(answers, gemeente, case_id, [CRIMINAL], MOTIVATION)
    assert {(r["status"], r["reason"], r["consent_id"]) for r in again.values()} == {
        ("denied", "consent_refused", first)
    }
    assert all("records" not in r for r in again.values())
    assert _pending(answers, ovj) == []  # no new request was opened

    # 7. A new motivation opens a new request; granted narrower: one source, one field.
    second = pending_id(_query(answers, gemeente, case_id, [CRIMINAL], NEW_MOTIVATION))
    assert second != first
    [shown] = _pending(answers, ovj)
    assert shown["motivation"] == NEW_MOTIVATION and shown["subject_ref"] == "s1"
    assert sorted(shown["sources"]) == ["politie-demo", "reclassering-demo"]
    granted = grant(
        ovj,
        second,
        categories=[CRIMINAL],
        sources=["reclassering-demo"],
        fields={CRIMINAL: [GRANTED_FIELD]},
    )
    assert granted["granted_sources"] == ["reclassering-demo"]
    narrowed = _query(answers, gemeente, case_id, [CRIMINAL], NEW_MOTIVATION)
    reclassering = narrowed[("reclassering-demo", CRIMINAL)]
    assert reclassering["status"] == "ok" and reclassering["consent_id"] == second
    assert reclassering["records"]
    assert all(set(r["fields"]) == {GRANTED_FIELD} for r in reclassering["records"])
    police = narrowed[("politie-demo", CRIMINAL)]
    assert police["status"] != "ok" and "records" not in police

    # 8. The person's consent is withdrawn (by a partner on their behalf): GGZ stops.
    gone = answers.json(withdraw(gemeente, case_id, ground["id"]))
    assert gone["status"] == "withdrawn"
    stopped = _query(answers, gemeente, case_id, [GGZ])[("ggz-demo", GGZ)]
    assert (stopped["status"], stopped["reason"]) == ("denied", "ground_required")
    assert "records" not in stopped

    # 9. Along the machine to closure, with a reason from the covenant's list.
    _move(answers, gemeente, case_id, "plan_van_aanpak", "plan van aanpak vastgesteld")
    _move(answers, gemeente, case_id, "uitvoering", "plan in uitvoering")
    _move(answers, gemeente, case_id, "nazorg", "doelen in zicht, nazorg")
    no_reason = answers(gemeente.call("POST", f"/v1/cases/{case_id}/close"))
    assert no_reason.status_code == 422
    closing = {"reason": "doelen_bereikt", "note": "veiligheid hersteld"}
    closed = answers.json(gemeente.call("POST", f"/v1/cases/{case_id}/close", closing))
    assert (closed["status"], closed["closure_reason"]) == ("closed", "doelen_bereikt")

    # 10. Every step is in the log with who and its ground or reason.
    entries = audit_entries(stack, case_id)
    _assert_logged(entries, ground["id"], first, second)

    # 11. No BSN in any answer or entry.
    for response in answers.seen:
        assert not any(bsn in response.text for bsn in ALL_BSNS), response.text
    assert not any(bsn in str(entries) for bsn in ALL_BSNS)


def _move(answers: Answers, client: PartnerClient, case_id: str, phase: str, reason: str) -> None:
    body = {"phase": phase, "reason": reason}
    moved = answers.json(client.call("PATCH", f"/v1/cases/{case_id}", body))
    assert moved["phase"] == phase


def _pending(answers: Answers, ovj: PartnerClient) -> list[dict[str, Any]]:
    consents: list[dict[str, Any]] = answers.json(ovj.call("GET", "/v1/consents?status=pending"))[
        "consents"
    ]
    return consents


def _one(entries: list[dict[str, Any]], kind: str, outcome: str) -> dict[str, Any]:
    found = [e for e in entries if (e["kind"], e["outcome"]) == (kind, outcome)]
    assert found, (kind, outcome)
    return found[0]


def _assert_logged(entries: list[dict[str, Any]], ground_id: str, first: str, second: str) -> None:
    referred = _one(entries, "case", "referred")
    assert referred["party"] == "politie-demo"
    assert referred["details"]["referrer"] == "politie-demo"

    triaged = _one(entries, "case", "triaged")
    assert triaged["party"] == "gemeente-demo" and triaged["employee"]
    assert triaged["details"]["triage_outcome"] == "opgepakt"
    assert triaged["details"]["reason"] == "meerdere leefgebieden en ketens"

    added = [e["details"]["subject_role"] for e in entries if e["outcome"] == "subject_added"]
    assert added == ["kind", "slachtoffer"]

    moves = [
        (e["details"]["from_phase"], e["details"]["to_phase"], e["details"].get("reason"))
        for e in entries
        if e["outcome"] == "phase_changed"
    ]
    assert sorted(set(moves)) == sorted(
        {
            ("triage", "casusoverleg", "eerste casusoverleg gepland"),
            ("casusoverleg", "plan_van_aanpak", "plan van aanpak vastgesteld"),
            ("plan_van_aanpak", "uitvoering", "plan in uitvoering"),
            ("uitvoering", "nazorg", "doelen in zicht, nazorg"),
        }
    )
    closed = _one(entries, "case", "closed")
    assert closed["details"]["closure_reason"] == "doelen_bereikt"
    assert closed["details"]["note"] == "veiligheid hersteld"

    # GGZ: denied for want of a ground, disclosed naming it, denied again after withdrawal.
    ggz_decisions = [
        e
        for e in entries
        if e["kind"] == "decision" and e["category"] == GGZ and e["outcome"] == "denied"
    ]
    assert len(ggz_decisions) >= 2
    assert all(e["reason"] == "ground_required" for e in ggz_decisions)
    ggz_disclosures = [e for e in entries if e["kind"] == "disclosure" and e["category"] == GGZ]
    assert [e["details"].get("ground") for e in ggz_disclosures] == [ground_id]
    ground_steps = [
        (e["outcome"], e["details"]["ground_id"], e["party"])
        for e in entries
        if e["kind"] == "ground"
    ]
    assert ground_steps == [
        ("recorded", ground_id, "ggz-demo"),
        ("withdrawn", ground_id, "gemeente-demo"),
    ]

    # The OvJ: asked with a motivation, refused with a reason, the refusal standing,
    # asked again with a new motivation, granted narrower, disclosed under that grant.
    consent_steps = [
        (e["outcome"], e["consent_id"], e["details"].get("motivation_code"))
        for e in entries
        if e["kind"] == "consent"
    ]
    assert consent_steps[:4] == [
        ("requested", first, "plan_van_aanpak"),
        ("refused", first, "plan_van_aanpak"),
        ("requested", second, "risico_geweld"),
        ("granted", second, "risico_geweld"),
    ]
    refusal = _one(entries, "consent", "refused")
    assert refusal["reason"] == "niet proportioneel" and refusal["employee"]
    grant_entry = _one(entries, "consent", "granted")
    assert grant_entry["details"]["sources"] == "reclassering-demo"
    assert grant_entry["details"]["fields"] == f"{CRIMINAL}:{GRANTED_FIELD}"
    standing = [e for e in entries if e["kind"] == "decision" and e["reason"] == "consent_refused"]
    assert standing and all(e["consent_id"] == first for e in standing)
    criminal = [e for e in entries if e["kind"] == "disclosure" and e["category"] == CRIMINAL]
    assert [(e["source"], e["consent_id"]) for e in criminal] == [("reclassering-demo", second)]
