"""A source's withholding follows the person of the case it names (review C1).

``POST /v1/withholdings`` wrote its row under the case's hoofdpersoon only,
while a query about a household member (``s2``) logs its disclosures under the
member's own pseudonym: the member's inzage showed exactly what the source had
withheld to protect a victim. The body now names the subject (``s1`` when left
out, as for queries); the row, its cap and its log entry follow it, and
``audit verify`` still backs the row by that entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.audit.integrity import verify_database
from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.subjects.bsn import Bsn
from tests.brokering.support import CASUSOVERLEG, TEAM, logged_in, results
from tests.rights.support import patient_sources

PEOPLE = demo_people()
MAIN = PEOPLE[0].bsn.reveal()
PARTNER = PEOPLE[1].bsn.reveal()
HOUSING = "huisvesting"
SOURCE = "woningcorporatie-demo"
PROBLEM = "urn:ketenpoort:problem:"
UNTIL = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()


def _household_case(stack: Stack) -> str:
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.call(
        "POST",
        "/v1/cases",
        {
            "convenant": DEMO_COVENANT,
            "purpose": CASUSOVERLEG,
            "subjects": [
                {"bsn": MAIN, "role": "hoofdpersoon"},
                {"bsn": PARTNER, "role": "partner"},
            ],
            "participants": TEAM,
            "phase": "casusoverleg",
        },
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def test_a_sources_withholding_for_a_household_member_hides_it_from_her_inzage(
    stack: Stack,
) -> None:
    patient_sources(stack)
    case_id = _household_case(stack)
    woning = logged_in(stack, SOURCE)
    body = {
        "case": case_id,
        "category": HOUSING,
        "ground": "bescherming_slachtoffer",
        "until": UNTIL,
        "subject": "s2",
    }
    done = woning.call("POST", "/v1/withholdings", body)
    assert done.status_code == 201, done.text
    assert done.json()["subject"] == "s2"

    gemeente = logged_in(stack, "gemeente-demo")
    path = f"/v1/cases/{case_id}/queries"
    asked = results(gemeente.call("POST", path, {"categories": [HOUSING], "subject": "s2"}))
    assert any(r["status"] == "ok" and r.get("source") == SOURCE for r in asked.values()), asked

    member = stack.runtime.rights_desk.inzage(Bsn(PARTNER), "portal")
    shown = {(d.source, d.category) for d in member.disclosures}
    assert (SOURCE, HOUSING) not in shown, shown
    assert member.withheld_count >= 1
    # The hoofdpersoon's own inzage is not limited by what was withheld for s2.
    assert stack.runtime.rights_desk.inzage(Bsn(MAIN), "portal").withheld_count == 0

    runtime = stack.runtime
    runtime.audit.checkpoint_now()
    jwks = runtime.audit_desk.signer_jwks()
    assert verify_database(runtime.db, jwks, vault=runtime.audit.vault).result.ok


def test_a_withholding_for_a_subject_the_case_does_not_have_is_refused(stack: Stack) -> None:
    case_id = _household_case(stack)
    woning = logged_in(stack, SOURCE)
    body = {"case": case_id, "category": HOUSING, "ground": "bescherming_melder", "until": UNTIL}
    unknown = woning.call("POST", "/v1/withholdings", {**body, "subject": "s3"})
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["type"] == PROBLEM + "unknown-subject"
    assert unknown.json()["reason"] == "unknown_subject"
    default = woning.call("POST", "/v1/withholdings", body)
    assert default.status_code == 201, default.text
    assert default.json()["subject"] == "s1"
