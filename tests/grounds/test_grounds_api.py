"""Legal grounds per case and subject (API.md §2b) on the demo covenant.

GGZ data (psychisch_welzijn) needs the person's consent or a documented
conflict of duties: without one the answer is ``denied``/``ground_required``;
with one it is disclosed and the disclosure's audit entry names the ground;
withdrawn or expired, it stops disclosures at the next query. Attacks: a
partner outside the case forging a ground, a ground for other recipients or
categories, an unknown subject.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import Stack
from gateway.grounds.models import CaseGround
from gateway.problems import PROBLEM_BASE
from tests.brokering.support import audit_entries, logged_in, open_case, results
from tests.grounds.support import GGZ, record_ground, recorded, withdraw

GGZ_SOURCE = "ggz-demo"


def _ggz_status(client: PartnerClient, case_id: str) -> dict[str, Any]:
    found = results(client.query(case_id, [GGZ]))
    return found[(GGZ_SOURCE, GGZ)]


def test_ggz_data_needs_a_recorded_ground_and_the_entry_names_it(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    before = _ggz_status(gemeente, case_id)
    assert before["status"] == "denied" and before["reason"] == "ground_required", before
    assert "records" not in before

    ggz = logged_in(stack, GGZ_SOURCE)
    ground = recorded(ggz, case_id)
    assert ground["status"] == "active" and ground["recorded_by_party"] == GGZ_SOURCE
    assert ground["subject"] == "s1" and ground["categories"] == [GGZ]

    after = _ggz_status(gemeente, case_id)
    assert after["status"] == "ok", after
    assert after["records"][0]["fields"]["diagnose_samenvatting"] == "PTSS (vermoeden)"

    entries = audit_entries(stack, case_id)
    recorded_entries = [e for e in entries if e["kind"] == "ground"]
    assert [(e["outcome"], e["details"]["ground_id"]) for e in recorded_entries] == [
        ("recorded", ground["id"])
    ]
    assert _reference_not_in_log(entries)
    disclosures = [e for e in entries if e["kind"] == "disclosure" and e["category"] == GGZ]
    assert [e["details"].get("ground") for e in disclosures] == [ground["id"]]
    denial = next(e for e in entries if e["kind"] == "decision" and e["outcome"] == "denied")
    assert "ground_required" in (denial["reason"], *denial["details"].values())

    listed = gemeente.call("GET", f"/v1/cases/{case_id}/grounds")
    assert listed.status_code == 200, listed.text
    assert [g["id"] for g in listed.json()["grounds"]] == [ground["id"]]


def _reference_not_in_log(entries: list[dict[str, Any]]) -> bool:
    """The document reference stays in the register: the append-only log cannot forget."""
    return all("toestemmingsformulier" not in str(entry) for entry in entries)


def test_a_withdrawn_ground_stops_disclosure_at_the_next_query(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ggz = logged_in(stack, GGZ_SOURCE)
    ground = recorded(ggz, case_id)
    first = _ggz_status(gemeente, case_id)
    assert first["status"] == "ok", first

    gone = withdraw(gemeente, case_id, ground["id"])  # a partner on the person's behalf
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "withdrawn" and gone.json()["withdrawn_by"] == "gemeente-demo"
    again = withdraw(gemeente, case_id, ground["id"])
    assert again.status_code == 409 and again.json()["type"] == PROBLEM_BASE + "ground-withdrawn"

    after = _ggz_status(gemeente, case_id)
    assert after["status"] == "denied" and after["reason"] == "ground_required"
    outcomes = [e["outcome"] for e in audit_entries(stack, case_id) if e["kind"] == "ground"]
    assert outcomes == ["recorded", "withdrawn"]


def test_an_expired_ground_covers_nothing(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ground = recorded(logged_in(stack, GGZ_SOURCE), case_id, valid_until=_in_days(10))
    first = _ggz_status(gemeente, case_id)
    assert first["status"] == "ok", first
    with stack.runtime.db.session() as session:
        session.execute(
            update(CaseGround).where(CaseGround.id == ground["id"]).values(valid_until=_day(-1))
        )
    assert _ggz_status(gemeente, case_id)["reason"] == "ground_required"
    listed = gemeente.call("GET", f"/v1/cases/{case_id}/grounds").json()["grounds"]
    assert listed[0]["status"] == "expired"


def test_a_conflict_of_duties_is_a_ground_too_but_not_for_other_categories(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ggz = logged_in(stack, GGZ_SOURCE)
    recorded(
        ggz,
        case_id,
        ground="conflict_van_plichten",
        reference="afweging conflict van plichten, 2026-11-21",
        categories=["middelengebruik"],
    )
    assert _ggz_status(gemeente, case_id)["reason"] == "ground_required"
    recorded(ggz, case_id, ground="conflict_van_plichten", reference="afweging 2")
    first = _ggz_status(gemeente, case_id)
    assert first["status"] == "ok", first


def test_a_ground_for_other_recipients_does_not_cover_the_requester(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    recorded(logged_in(stack, GGZ_SOURCE), case_id, recipients=["reclassering-demo"])
    assert _ggz_status(gemeente, case_id)["reason"] == "ground_required"
    reclassering = logged_in(stack, "reclassering-demo")
    assert _ggz_status(reclassering, case_id)["status"] == "ok"


def test_a_partner_outside_the_case_cannot_forge_a_ground(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    outsider = logged_in(stack, "dji-demo")  # a covenant party, not in this case
    forged = record_ground(outsider, case_id)
    assert forged.status_code == 403, forged.text
    assert forged.json()["type"] == PROBLEM_BASE + "not-participant"
    assert outsider.call("GET", f"/v1/cases/{case_id}/grounds").status_code == 403
    assert _ggz_status(gemeente, case_id)["reason"] == "ground_required"
    denials = [
        e
        for e in audit_entries(stack, case_id)
        if e["party"] == "dji-demo" and e["outcome"] == "denied"
    ]
    assert denials and denials[0]["details"].get("action") == "record_ground", denials


def test_a_ground_is_recorded_only_under_the_case_purpose(stack: Stack) -> None:
    _gemeente, case_id = open_case(stack)
    other_purpose = logged_in(stack, GGZ_SOURCE, "zvh-triage")
    refused = record_ground(other_purpose, case_id)
    assert refused.status_code == 403
    assert refused.json()["type"] == PROBLEM_BASE + "case-binding"


def test_invalid_grounds_are_refused(stack: Stack) -> None:
    _gemeente, case_id = open_case(stack)
    ggz = logged_in(stack, GGZ_SOURCE)
    cases = [
        ({"ground": "wettelijke_grondslag"}, "ground-invalid"),  # no article
        ({"categories": ["geen_categorie"]}, "ground-invalid"),
        ({"recipients": ["nobody-demo"]}, "ground-invalid"),
        ({"valid_until": _in_days(-1)}, "ground-invalid"),
        ({"ground": "goedgevoel"}, "validation"),
        ({"reference": ""}, "validation"),
    ]
    for body, slug in cases:
        response = record_ground(ggz, case_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["type"] == PROBLEM_BASE + slug, (body, response.text)
    unknown = record_ground(ggz, case_id, subject="s2")
    assert unknown.status_code == 404 and unknown.json()["type"] == PROBLEM_BASE + "unknown-subject"
    statutory = record_ground(
        ggz, case_id, ground="wettelijke_grondslag", article="Wvggz art. 8:16"
    )
    assert statutory.status_code == 201, statutory.text


def test_a_ground_of_another_case_cannot_be_withdrawn_through_this_case(stack: Stack) -> None:
    gemeente, case_a = open_case(stack)
    _again, case_b = open_case(stack)
    ground = recorded(logged_in(stack, GGZ_SOURCE), case_a)
    wrong = withdraw(gemeente, case_b, ground["id"])
    assert wrong.status_code == 404, wrong.text
    assert _ggz_status(gemeente, case_a)["status"] == "ok"


def _day(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _in_days(days: int) -> str:
    return _day(days).isoformat()
