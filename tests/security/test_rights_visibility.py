"""An attacker's review of the rights desk (second round): who sees whom an inzage reached.

1. A partner filing an inzage "on behalf of" the person read every joint
   controller's record count: a count above zero at GGZ is health data.
2. A household member's inzage reached no organisation (only the main
   person's cases were looked at).
3. A representative without the right lifted the person's verzet
   (withdrawal), or withdrew the person's consent on /mijn.

Each test runs on a real stack (gateway, demo sources over HTTP, real keys)
and was seen to fail on the code before the fix.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from gateway.rights.models import RightsRequest
from gateway.rights.service import Viewer
from gateway.rights.views import view_of
from tests.brokering.support import (
    BSN,
    TEAM,
    audit_entries,
    change_covenant,
    logged_in,
    open_case,
)
from tests.grounds.support import recorded
from tests.rights.conftest import csrf_of, person_login
from tests.rights.support import (
    SOURCE_PARTIES,
    denied_entries,
    file_as_person,
    patient_sources,
)

FILER = "woningcorporatie-demo"  # a participant with no rule for GGZ data
PERSON_B = demo_people()[1]  # gemachtigde.demo acts for persoon-b


def _parties(body: dict[str, Any]) -> set[str]:
    return {item["party"] for item in body["sources"]}


def test_a_filing_partner_does_not_learn_who_holds_records_about_the_person(
    stack: Stack,
) -> None:
    patient_sources(stack)
    gemeente, case_id = open_case(stack)
    woning = logged_in(stack, FILER)
    filed = woning.call(
        "POST",
        "/v1/rights-requests",
        {"type": "inzage", "subject": {"bsn": BSN}, "details": "namens", "cases": [case_id]},
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    for body in (filed.json(), woning.call("GET", f"/v1/rights-requests/{request_id}").json()):
        assert _parties(body) == {FILER}  # its own part only: no ggz-demo, no count
        assert {item["party"] for item in body["forwarded"]} == {FILER}
        assert body["status"] == "pending" and body["deadline"]

    # The controller that decides it sees no more of who holds what than the filer.
    controller = gemeente.call("GET", f"/v1/rights-requests/{request_id}").json()
    assert _parties(controller) == {"gemeente-demo"}

    # The privacy officer and the person see every joint controller and its count.
    officer = logged_in(stack, "fg-demo").call("GET", f"/v1/rights-requests/{request_id}")
    assert _parties(officer.json()) == SOURCE_PARTIES
    person = person_login(stack, "persoon-a").get(f"/v1/rights-requests/{request_id}").json()
    counts = {item["party"]: item["records"] for item in person["sources"]}
    assert set(counts) == SOURCE_PARTIES and counts["ggz-demo"] is not None


def test_a_household_members_inzage_reaches_the_joint_controllers_of_their_case(
    stack: Stack,
) -> None:
    patient_sources(stack)
    main, member = demo_people()[0].bsn.reveal(), PERSON_B.bsn.reveal()
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.call(
        "POST",
        "/v1/cases",
        {
            "convenant": "zvh-demo",
            "purpose": "pga-casusoverleg",
            "subjects": [{"bsn": main, "role": "hoofdpersoon"}, {"bsn": member, "role": "partner"}],
            "participants": TEAM,
            "phase": "casusoverleg",
        },
    )
    assert opened.status_code == 201, opened.text
    body = file_as_person(person_login(stack, "persoon-b"), {"type": "inzage", "details": "wat?"})
    assert _parties(body) == SOURCE_PARTIES


def _only_inzage_for_the_gemachtigde(document: dict[str, Any]) -> None:
    document["rights"]["representatives"] = {"gemachtigde": ["inzage"]}


def test_a_representative_without_the_right_cannot_lift_the_persons_verzet(
    stack: Stack,
) -> None:
    change_covenant(stack, _only_inzage_for_the_gemachtigde)
    gemeente, _ = open_case(stack, bsn=PERSON_B.bsn.reveal())
    verzet = file_as_person(person_login(stack, "persoon-b"), {"type": "verzet", "details": "nee"})
    rep = person_login(stack, "gemachtigde.demo")
    path = f"/v1/rights-requests/{verzet['id']}/withdraw"

    refused = rep.post(path, headers={"X-Ketenpoort-CSRF": csrf_of(rep)})
    assert refused.status_code == 422, refused.text  # as filing a verzet would be
    assert refused.json()["type"] == "urn:ketenpoort:problem:rights-request-refused"
    shown = rep.get(f"/mijn/verzoeken/{verzet['id']}")
    assert shown.status_code == 200 and 'id="intrekken"' not in shown.text  # no button to press
    page = rep.post(f"/mijn/verzoeken/{verzet['id']}/intrekken", data={"csrf_token": csrf_of(rep)})
    assert page.status_code == 403
    still = gemeente.call("GET", f"/v1/rights-requests/{verzet['id']}").json()
    assert still["status"] == "pending"
    reasons = [(e["reason"], e["details"]["action"]) for e in denied_entries(stack, verzet["id"])]
    assert reasons == [("representative_not_allowed", "withdraw")] * 2


def test_a_representatives_consent_withdrawal_needs_the_right_and_says_so_in_the_log(
    stack: Stack,
) -> None:
    change_covenant(stack, _only_inzage_for_the_gemachtigde)
    gemeente, case_id = open_case(stack, bsn=PERSON_B.bsn.reveal())
    ground = recorded(gemeente, case_id)
    rep = person_login(stack, "gemachtigde.demo")
    path = f"/mijn/toestemmingen/{ground['id']}/intrekken"

    refused = rep.post(path, data={"csrf_token": csrf_of(rep)})
    assert refused.status_code == 403
    assert "Ingetrokken" not in person_login(stack, "persoon-b").get("/mijn").text

    def toestemming_too(document: dict[str, Any]) -> None:
        document["rights"]["representatives"] = {"gemachtigde": ["inzage", "toestemming"]}

    change_covenant(stack, toestemming_too)
    done = rep.post(path, data={"csrf_token": csrf_of(rep)})
    assert done.status_code == 200, done.text  # the redirect to /mijn, followed
    withdrawn = [
        e
        for e in audit_entries(stack, case_id)
        if (e["kind"], e["outcome"]) == ("ground", "withdrawn")
    ]
    assert [e["details"].get("representative") for e in withdrawn] == ["gemachtigde"]


def test_a_privacy_officer_sees_only_its_own_covenants_sources_of_an_inzage(
    stack: Stack,
) -> None:
    """A person with cases in two covenants has the inzage sent to both covenants' sources;
    the officer of one saw the other's too (review), i.e. who outside its covenant holds
    records about the person."""
    patient_sources(stack)
    open_case(stack)
    body = file_as_person(person_login(stack, "persoon-a"), {"type": "inzage", "details": "?"})
    service = stack.runtime.rights_desk.service
    with stack.runtime.db.session() as session:
        row = session.scalar(select(RightsRequest).where(RightsRequest.id == body["id"]))
        assert row is not None
        view = view_of(session, service._sealer, row)
    elsewhere = replace(view.sources[0], party="ggz-in-een-ander-convenant")
    view = replace(view, sources=(*view.sources, elsewhere))
    officer = Viewer(party="fg-demo", covenant=row.convenant, roles=("privacy_officer",))
    seen = service.seen_by(officer, row, view)
    assert {item.party for item in seen.sources} == SOURCE_PARTIES
    assert service.seen_by(Viewer(pseudonym=row.subject_pseudonym), row, view) == view
