"""Referral by any referral role, triage by the procesregie, phases only as declared, closure
with a reason from the covenant — each step in the log with who and why (API.md §2a)."""

from __future__ import annotations

from typing import Any

from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.problems import problem_type
from tests.brokering.support import (
    BSN,
    CASUSOVERLEG,
    audit_entries,
    change_covenant,
    is_problem,
    logged_in,
    results,
)


def _refer(client: PartnerClient, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "convenant": DEMO_COVENANT,
        "purpose": CASUSOVERLEG,
        "subject": {"bsn": BSN},
        "phase": "aanmelding",
        **extra,
    }
    return client.call("POST", "/v1/cases", body)


def test_police_refers_and_sees_only_status_and_triage_outcome(stack: Stack) -> None:
    politie = logged_in(stack, "politie-demo")
    referred = _refer(politie, case_type="pga", municipality="GM0106")
    assert referred.status_code == 201, referred.text
    answer = referred.json()
    assert set(answer) == {"id", "status", "referrer", "triage_outcome"}
    assert (answer["status"], answer["referrer"], answer["triage_outcome"]) == (
        "open",
        "politie-demo",
        None,
    )
    case_id = answer["id"]
    assert BSN not in referred.text

    seen = politie.call("GET", f"/v1/cases/{case_id}")
    assert seen.status_code == 200
    assert set(seen.json()) == {"id", "status", "referrer", "triage_outcome"}
    # The referrer is no participant: it cannot query the person it referred.
    asked = results(politie.query(case_id, ["huisvesting"]))
    assert {r["reason"] for r in asked.values()} == {"not_participant"}

    # Another referral role, not the referrer: nothing at all.
    ggz = logged_in(stack, "ggz-demo")
    assert ggz.call("GET", f"/v1/cases/{case_id}").status_code == 403

    gemeente = logged_in(stack, "gemeente-demo")
    full = gemeente.call("GET", f"/v1/cases/{case_id}").json()
    assert full["phase"] == "aanmelding"
    assert full["referrer"] == "politie-demo"
    assert full["participants"] == ["gemeente-demo"]  # procesregie only until triage
    assert (full["case_type"], full["municipality"]) == ("pga", "GM0106")
    assert full["subjects"] == [
        {"ref": "s1", "role": "hoofdpersoon", "birth_year": None, "erased": False}
    ]
    # In aanmelding no rule lets anything out, not even to the procesregie.
    found = results(gemeente.query(case_id, ["huisvesting"], ["gemeente-demo"]))
    assert found[("gemeente-demo", "huisvesting")]["reason"] == "phase"

    triaged = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/triage",
        {"outcome": "opgepakt", "reason": "meerdere leefgebieden, meerdere ketens"},
    )
    assert triaged.status_code == 200, triaged.text
    body = triaged.json()
    assert body["phase"] == "triage"
    assert body["triage"]["outcome"] == "opgepakt"
    assert body["triage"]["decided_by"] == "gemeente-demo"
    assert body["triage"]["employee"] == gemeente.employee
    again = gemeente.call(
        "POST", f"/v1/cases/{case_id}/triage", {"outcome": "niet_opgepakt", "reason": "x"}
    )
    assert again.status_code == 409

    status = politie.call("GET", f"/v1/cases/{case_id}").json()
    assert status == {
        "id": case_id,
        "status": "open",
        "referrer": "politie-demo",
        "triage_outcome": "opgepakt",
    }

    entries = audit_entries(stack, case_id)
    referred_entry = next(e for e in entries if e["outcome"] == "referred")
    assert referred_entry["party"] == "politie-demo"
    assert referred_entry["details"]["referrer"] == "politie-demo"
    triage_entry = next(e for e in entries if e["outcome"] == "triaged")
    assert triage_entry["party"] == "gemeente-demo"
    assert triage_entry["details"]["triage_outcome"] == "opgepakt"
    assert (triage_entry["details"]["from_phase"], triage_entry["details"]["to_phase"]) == (
        "aanmelding",
        "triage",
    )
    assert BSN not in str(entries)


def test_who_may_refer_and_in_which_phase(stack: Stack) -> None:
    # The OvJ and the privacy officer hold no referral role.
    for party in ("om-demo", "fg-demo"):
        refused = _refer(logged_in(stack, party))
        assert refused.status_code == 403, (party, refused.text)
        assert refused.json()["type"] == problem_type("not-case-opener")
    # A referrer refers; it does not open a case in a later phase.
    politie = logged_in(stack, "politie-demo")
    late = _refer(politie, phase="casusoverleg")
    assert late.status_code == 403
    # Without a phase a referrer's case is a referral.
    plain = _refer(politie, phase="aanmelding")
    assert plain.status_code == 201
    # A referral names no participants: nobody else learns of it before triage.
    assert _refer(politie, participants=["ggz-demo"]).status_code == 422
    # The procesregie opens only in the covenant's initial phases.
    gemeente = logged_in(stack, "gemeente-demo")
    assert gemeente.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, [], "uitvoering").status_code == 422


def test_case_attributes_come_from_the_covenant(stack: Stack) -> None:
    politie = logged_in(stack, "politie-demo")
    for extra in (
        {"case_type": "overlast"},
        {"municipality": "GM12"},
        {"municipality": "gm0106"},
        {"municipality": "GM01060"},
        {"case_type": None},
        {"region": "Regio Noord!"},
    ):
        refused = _refer(politie, **extra)
        assert refused.status_code == 422, (extra, refused.text)
        assert is_problem(refused)
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.call(
        "POST",
        "/v1/cases",
        {
            "convenant": DEMO_COVENANT,
            "purpose": CASUSOVERLEG,
            "subject": {"bsn": BSN},
            "phase": "triage",
            "case_type": "huiselijk_geweld",
            "region": "zvh-noord",
        },
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    patched = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"municipality": "GM0363"})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["case_type"], body["municipality"], body["region"], body["phase"]) == (
        "huiselijk_geweld",
        "GM0363",
        "zvh-noord",
        "triage",
    )
    assert gemeente.call("PATCH", f"/v1/cases/{case_id}", {}).status_code == 422
    bad = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"case_type": "onbekend"})
    assert bad.status_code == 422


def test_phases_move_only_as_declared_and_closure_needs_a_reason(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, ["politie-demo"], "triage")
    case_id = opened.json()["id"]

    jump = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"})
    assert jump.status_code == 409
    problem = jump.json()
    assert problem["type"] == "urn:ketenpoort:problem:phase-transition"
    assert problem["allowed"] == ["casusoverleg", "afgesloten"]
    assert gemeente.call("GET", f"/v1/cases/{case_id}").json()["phase"] == "triage"

    politie = logged_in(stack, "politie-demo")
    assert (
        politie.call("PATCH", f"/v1/cases/{case_id}", {"phase": "casusoverleg"}).status_code == 403
    )

    for phase, reason in (
        ("casusoverleg", "opgepakt in triage"),
        ("plan_van_aanpak", "plan vastgesteld"),
        ("uitvoering", "plan in uitvoering"),
    ):
        moved = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": phase, "reason": reason})
        assert moved.status_code == 200, moved.text
        assert moved.json()["phase"] == phase
    # A reason holding a BSN is refused and not echoed.
    leaky = gemeente.call(
        "PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg", "reason": f"bsn {BSN}"}
    )
    assert leaky.status_code == 422
    assert BSN not in leaky.text

    no_reason = gemeente.call("POST", f"/v1/cases/{case_id}/close")
    assert no_reason.status_code == 422
    assert no_reason.json()["type"] == problem_type("closure-reason")
    assert "doelen_bereikt" in no_reason.json()["allowed_reasons"]
    wrong = gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": "klaar"})
    assert wrong.status_code == 422
    closed = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/close",
        {"reason": "overgedragen", "note": "naar wijkteam"},
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["closure_reason"], closed.json()["closure_note"]) == (
        "overgedragen",
        "naar wijkteam",
    )

    entries = [e for e in audit_entries(stack, case_id) if e["kind"] == "case"]
    moves = [
        (e["details"]["from_phase"], e["details"]["to_phase"], e["details"].get("reason"))
        for e in entries
        if e["outcome"] == "phase_changed"
    ]
    assert moves == [
        ("triage", "casusoverleg", "opgepakt in triage"),
        ("casusoverleg", "plan_van_aanpak", "plan vastgesteld"),
        ("plan_van_aanpak", "uitvoering", "plan in uitvoering"),
    ]
    assert all(e["party"] == "gemeente-demo" and e["employee"] for e in entries)
    closing = next(e for e in entries if e["outcome"] == "closed")
    assert closing["details"]["closure_reason"] == "overgedragen"


def test_a_referral_not_taken_is_closed_with_the_triage_outcome(stack: Stack) -> None:
    politie = logged_in(stack, "politie-demo")
    case_id = _refer(politie).json()["id"]
    gemeente = logged_in(stack, "gemeente-demo")
    missing = gemeente.call(
        "POST", f"/v1/cases/{case_id}/triage", {"outcome": "doorverwezen", "reason": "wijkteam"}
    )
    assert missing.status_code == 422  # doorverwezen names where to
    bogus = gemeente.call(
        "POST", f"/v1/cases/{case_id}/triage", {"outcome": "misschien", "reason": "x"}
    )
    assert bogus.status_code == 422
    done = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/triage",
        {"outcome": "niet_opgepakt", "reason": "één leefgebied, past bij wijkteam"},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["closure_reason"]) == ("closed", "niet_opgepakt")
    assert politie.call("GET", f"/v1/cases/{case_id}").json()["triage_outcome"] == "niet_opgepakt"


def test_a_covenant_without_workflow_blocks_keeps_the_old_behaviour(stack: Stack) -> None:
    def legacy(document: dict[str, Any]) -> None:
        for key in (
            "referral_roles",
            "phases",
            "case_types",
            "closure_reasons",
            "motivation_codes",
            "subject_roles",
        ):
            document.pop(key, None)
        for rule in document["rules"]:
            rule.pop("subject_roles", None)
        document["rules"] = [r for r in document["rules"] if r["id"] != "slachtoffer-veiligheid"]

    change_covenant(stack, legacy)
    politie = logged_in(stack, "politie-demo")
    assert _refer(politie).status_code == 403  # no referral roles: only the procesregie
    gemeente = logged_in(stack, "gemeente-demo")
    assert gemeente.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, [], "aanmelding").status_code == 422
    case_id = gemeente.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, [], "casusoverleg").json()["id"]
    # Any move among the five phases, and closing without a reason.
    for phase in ("nazorg", "signalering", "nazorg"):
        moved = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": phase})
        assert moved.status_code == 200, moved.text
    assert gemeente.call("POST", f"/v1/cases/{case_id}/close").status_code == 200
