"""Erasing a person takes their recorded grounds with them (AVG art. 17).

The ground register keeps the document reference and who recorded it in clear,
tied to the person's pseudonym; crypto-shredding the log keys alone would leave
it behind. Erasing one person of a household removes only their grounds: the
others' grounds, and the disclosures they cover, stay.
"""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.grounds.models import CaseGround
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import PROBLEM_BASE
from gateway.rights.erasure import erase_person
from tests.brokering.support import CASUSOVERLEG, logged_in, results
from tests.grounds.support import GGZ, record_ground, recorded

PEOPLE = demo_people()
MAIN, PARTNER = PEOPLE[0], PEOPLE[1]


def _household(stack: Stack) -> str:
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.call(
        "POST",
        "/v1/cases",
        {
            "convenant": DEMO_COVENANT,
            "purpose": CASUSOVERLEG,
            "subjects": [
                {"bsn": MAIN.bsn.reveal(), "role": "hoofdpersoon"},
                {"bsn": PARTNER.bsn.reveal(), "role": "partner"},
            ],
            "participants": ["ggz-demo"],
            "phase": "casusoverleg",
        },
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def _policy(stack: Stack) -> CompiledPolicy:
    return stack.runtime.foundations.current_policy()()


def _grounds_of(stack: Stack, pseudonym: str) -> int:
    with stack.runtime.db.session() as session:
        query = select(func.count()).where(CaseGround.subject_pseudonym == pseudonym)
        return int(session.scalar(query) or 0)


def test_erasing_a_person_removes_their_grounds_and_only_theirs(stack: Stack) -> None:
    case_id = _household(stack)
    other_case = _household(stack)
    ggz = logged_in(stack, "ggz-demo")
    main_ground = recorded(ggz, case_id)
    partner_ground = recorded(ggz, case_id, subject="s2")
    elsewhere = recorded(ggz, other_case, subject="s2")
    pseudonymizer = stack.runtime.pseudonymizer
    partner, main = pseudonymizer.pseudonym(PARTNER.bsn), pseudonymizer.pseudonym(MAIN.bsn)
    assert _grounds_of(stack, partner) == 2

    # Erased from one case: that case's ground goes, the other case's stays.
    erased = erase_person(stack.runtime.db, partner, case_id, policy=_policy(stack))
    assert erased.grounds_deleted == 1
    listed = ggz.call("GET", f"/v1/cases/{case_id}/grounds").json()["grounds"]
    assert [g["id"] for g in listed] == [main_ground["id"]]
    kept = ggz.call("GET", f"/v1/cases/{other_case}/grounds").json()["grounds"]
    assert [g["id"] for g in kept] == [elsewhere["id"]]
    assert partner_ground["id"] not in str(listed)
    case = ggz.call("GET", f"/v1/cases/{case_id}").json()
    assert [(s["ref"], s["erased"]) for s in case["subjects"]] == [("s1", False), ("s2", True)]

    # Erased everywhere: no ground names the person any more; the hoofdpersoon keeps hers.
    assert erase_person(stack.runtime.db, partner, policy=_policy(stack)).grounds_deleted == 1
    assert _grounds_of(stack, partner) == 0
    assert _grounds_of(stack, main) == 1
    gemeente = logged_in(stack, "gemeente-demo")
    found = results(gemeente.query(case_id, [GGZ]))[("ggz-demo", GGZ)]
    assert found["status"] == "ok", found
    assert found["records"]

    # No ground can be recorded again for the erased person.
    again = record_ground(ggz, other_case, subject="s2")
    assert again.status_code == 404, again.text
    assert again.json()["type"] in (
        PROBLEM_BASE + "subject-erased",
        PROBLEM_BASE + "unknown-subject",
    )
    assert _grounds_of(stack, partner) == 0
