"""Informatieplicht register and partner withholdings: who may record what, and the FG's list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.rights.notices import Notice
from tests.brokering.support import CASUSOVERLEG, audit_entries, logged_in, open_case
from tests.web.conftest import login

TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


def test_a_participant_records_whether_the_person_was_informed(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    path = f"/v1/cases/{case_id}/notices"
    informed = {"subject": "s1", "informed": True, "how": "brief", "at": "2026-11-20"}
    done = gemeente.call("POST", path, informed)
    assert done.status_code == 201, done.text
    assert done.json()["by"] == "gemeente-demo"

    for bad, reason in (
        ({**informed, "ground": "uavg_41"}, "mixed"),
        ({"subject": "s1", "informed": True, "how": "brief"}, "how_and_at_required"),
        ({"subject": "s1", "informed": False, "ground": "uavg_41"}, "ground_and_review_required"),
        (
            {"subject": "s1", "informed": False, "ground": "uavg_41", "review_on": "2020-01-01"},
            "review_in_past",
        ),
        ({**informed, "subject": "s2"}, "unknown_subject"),
    ):
        refused = gemeente.call("POST", path, bad)
        assert refused.status_code == 422, bad
        assert refused.json()["reason"] == reason
    assert gemeente.call("POST", path, {**informed, "ground": "iets"}).status_code == 422

    outsider = logged_in(stack, "slachtofferhulp-demo")  # not a participant: as an unknown case
    assert outsider.call("POST", path, informed).status_code == 404

    outcomes = [e["outcome"] for e in audit_entries(stack, case_id) if e["kind"] == "rights"]
    assert outcomes.count("informed") == 1


def test_an_overdue_review_is_on_the_officers_list_until_a_newer_statement(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    path = f"/v1/cases/{case_id}/notices"
    not_yet = {"subject": "s1", "informed": False, "ground": "uavg_41", "review_on": TOMORROW}
    assert gemeente.call("POST", path, not_yet).status_code == 201
    officer = login(stack.base_url, "fg.demo", "/privacy")
    assert "herbeoordeling verlopen" not in officer.get("/privacy").text
    with stack.runtime.db.session() as session:
        session.execute(
            update(Notice).where(Notice.case_id == case_id).values(review_on=date(2026, 1, 1))
        )
    page = officer.get("/privacy").text
    assert "herbeoordeling verlopen" in page and case_id in page
    told = {"subject": "s1", "informed": True, "how": "mondeling", "at": "2026-11-30"}
    assert gemeente.call("POST", path, told).status_code == 201
    assert "herbeoordeling verlopen" not in officer.get("/privacy").text


def test_a_partner_withholds_only_its_own_data_within_the_cap(stack: Stack) -> None:
    _, case_id = open_case(stack)
    ggz = logged_in(stack, "ggz-demo")
    body = {"case": case_id, "category": "psychisch_welzijn", "ground": "bescherming_slachtoffer"}
    too_far = (datetime.now(UTC).date() + timedelta(days=5 * 366)).isoformat()
    refused = ggz.call("POST", "/v1/withholdings", {**body, "until": too_far})
    assert refused.status_code == 422 and refused.json()["latest"]
    past = ggz.call("POST", "/v1/withholdings", {**body, "until": "2026-01-01"})
    assert past.status_code == 422
    other = ggz.call(
        "POST", "/v1/withholdings", {**body, "category": "detentie", "until": TOMORROW}
    )
    assert other.status_code == 403 and other.json()["reason"] == "not_source_of_category"
    ground = ggz.call("POST", "/v1/withholdings", {**body, "ground": "zomaar", "until": TOMORROW})
    assert ground.status_code == 422
    outsider = logged_in(stack, "dji-demo")  # a source, but not in this case
    denied = outsider.call(
        "POST", "/v1/withholdings", {**body, "category": "detentie", "until": TOMORROW}
    )
    assert denied.status_code == 404
    done = ggz.call("POST", "/v1/withholdings", {**body, "until": TOMORROW})
    assert done.status_code == 201, done.text
    assert done.json()["source"] == "ggz-demo"


def test_household_members_each_have_their_own_statement(stack: Stack) -> None:
    """``s2``… of a household case are recorded under their own ref; an unknown ref is not."""
    people = demo_people()
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.call(
        "POST",
        "/v1/cases",
        {
            "convenant": DEMO_COVENANT,
            "purpose": CASUSOVERLEG,
            "subjects": [
                {"bsn": people[0].bsn.reveal(), "role": "hoofdpersoon"},
                {"bsn": people[2].bsn.reveal(), "role": "kind"},
            ],
            "participants": ["politie-demo"],
            "phase": "casusoverleg",
        },
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    path = f"/v1/cases/{case_id}/notices"
    child = {"subject": "s2", "informed": False, "ground": "uavg_41", "review_on": TOMORROW}
    done = gemeente.call("POST", path, child)
    assert done.status_code == 201, done.text
    assert done.json()["subject"] == "s2"
    unknown = gemeente.call("POST", path, {**child, "subject": "s3"})
    assert unknown.status_code == 422
    assert unknown.json()["reason"] == "unknown_subject"
    outcomes = [e["outcome"] for e in audit_entries(stack, case_id) if e["kind"] == "rights"]
    assert outcomes == ["not_informed"]
