"""The OvJ's withholding follows the person the consent request is about (review).

A consent request about a household member (``s2``) was granted with
``withheld_until``, but the withholding row, the consent's log entries and the
OvJ's "verzet pending" hint all used the case's hoofdpersoon (``s1``): the
member's own inzage then showed the criminal-data disclosure the OvJ had
withheld to protect an investigation.
"""

from __future__ import annotations

from typing import Any

from gateway.audit.integrity import verify_database
from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.subjects.bsn import Bsn
from tests.brokering.support import (
    CASUSOVERLEG,
    MOTIVATION,
    change_covenant,
    logged_in,
    results,
)
from tests.consent.support import CRIMINAL, grant, in_days, om

PEOPLE = demo_people()
MAIN = PEOPLE[0].bsn.reveal()
PARTNER = PEOPLE[1].bsn.reveal()


def test_a_withholding_granted_for_a_household_member_hides_it_from_her_inzage(
    stack: Stack,
) -> None:
    def partners_too(document: dict[str, Any]) -> None:
        rule = next(r for r in document["rules"] if r["id"] == "justitie")
        rule["subject_roles"] = ["hoofdpersoon", "partner"]

    change_covenant(stack, partners_too)
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
            "participants": ["politie-demo", "reclassering-demo"],
            "phase": "casusoverleg",
        },
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    query = {"categories": [CRIMINAL], "subject": "s2", "motivation": MOTIVATION}
    path = f"/v1/cases/{case_id}/queries"
    first = results(gemeente.call("POST", path, query))
    pending = {r["consent_id"] for r in first.values() if r["status"] == "pending_consent"}
    assert len(pending) == 1, first
    consent_id = pending.pop()
    grant(om(stack), consent_id, withheld_until=in_days(90))

    second = results(gemeente.call("POST", path, query))
    assert any(r["status"] == "ok" and r.get("records") for r in second.values()), second

    member = stack.runtime.rights_desk.inzage(Bsn(PARTNER), "portal")
    assert CRIMINAL not in {d.category for d in member.disclosures}
    assert member.withheld_count >= 1
    # The row and the grant's log entry name the same person: verify backs one by the other.
    runtime = stack.runtime
    runtime.audit.checkpoint_now()
    jwks = runtime.audit_desk.signer_jwks()
    assert verify_database(runtime.db, jwks, vault=runtime.audit.vault).result.ok
