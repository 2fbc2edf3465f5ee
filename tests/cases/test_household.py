"""Household cases: several people in one case, each named only as ``{ref, role}``, each
pseudonymised, logged, shown in their own inzage and erased on their own (API.md §2a, §3)."""

from __future__ import annotations

from typing import Any

from gateway.audit.erasure import erase_subject
from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.problems import problem_type
from tests.brokering.support import CASUSOVERLEG, audit_entries, is_problem, logged_in, results

PEOPLE = demo_people()
MAIN = PEOPLE[0].bsn.reveal()  # persoon-a
PARTNER = PEOPLE[1].bsn.reveal()  # persoon-b, known to the gemeente
CHILD = PEOPLE[2].bsn.reveal()
VICTIM = PEOPLE[3].bsn.reveal()
ALL_BSNS = (MAIN, PARTNER, CHILD, VICTIM)


def _household(**extra: Any) -> dict[str, Any]:
    return {
        "convenant": DEMO_COVENANT,
        "purpose": CASUSOVERLEG,
        "subjects": [
            {"bsn": PARTNER, "role": "partner"},
            {"bsn": MAIN, "role": "hoofdpersoon", "birth_year": 1988},
            {"bsn": CHILD, "role": "kind", "birth_year": 2015},
        ],
        "participants": ["politie-demo", "veiligthuis-demo"],
        "phase": "casusoverleg",
        **extra,
    }


def test_one_case_several_people_named_only_by_ref_and_role(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    opened = gemeente.call("POST", "/v1/cases", _household())
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["subjects"] == [
        {"ref": "s1", "role": "hoofdpersoon", "birth_year": 1988, "erased": False},
        {"ref": "s2", "role": "partner", "birth_year": None, "erased": False},
        {"ref": "s3", "role": "kind", "birth_year": 2015, "erased": False},
    ]
    case_id = case["id"]
    added = gemeente.call(
        "POST", f"/v1/cases/{case_id}/subjects", {"bsn": VICTIM, "role": "slachtoffer"}
    )
    assert added.status_code == 201, added.text
    assert added.json()["added"] == {
        "ref": "s4",
        "role": "slachtoffer",
        "birth_year": None,
        "erased": False,
    }
    # The same person twice, a second hoofdpersoon, an unknown role: refused, no BSN echoed.
    twice = gemeente.call("POST", f"/v1/cases/{case_id}/subjects", {"bsn": CHILD, "role": "kind"})
    assert twice.status_code == 409
    assert twice.json()["type"] == problem_type("subject-exists")
    second = gemeente.call(
        "POST", f"/v1/cases/{case_id}/subjects", {"bsn": "999990032", "role": "hoofdpersoon"}
    )
    assert second.status_code == 409
    odd = gemeente.call(
        "POST", f"/v1/cases/{case_id}/subjects", {"bsn": "999990032", "role": "koning"}
    )
    assert odd.status_code == 422
    assert odd.json()["type"] == problem_type("subject-role")
    politie = logged_in(stack, "politie-demo")
    not_opener = politie.call(
        "POST", f"/v1/cases/{case_id}/subjects", {"bsn": "999990032", "role": "kind"}
    )
    assert not_opener.status_code == 403
    for response in (opened, added, twice, second, odd, not_opener):
        assert not any(bsn in response.text for bsn in ALL_BSNS)

    read = gemeente.call("GET", f"/v1/cases/{case_id}")
    assert [s["ref"] for s in read.json()["subjects"]] == ["s1", "s2", "s3", "s4"]
    assert not any(bsn in read.text for bsn in ALL_BSNS)
    entries = audit_entries(stack, case_id)
    opened_for = sorted(e["details"]["subject_ref"] for e in entries if e["outcome"] == "opened")
    assert opened_for == ["s1", "s2", "s3"]  # one entry per person
    assert [e["details"]["subject_role"] for e in entries if e["outcome"] == "subject_added"] == [
        "slachtoffer"
    ]
    assert not any(bsn in str(entries) for bsn in ALL_BSNS)


def test_rules_name_subject_roles_and_queries_name_the_subject(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    case_id = gemeente.call("POST", "/v1/cases", _household()).json()["id"]

    # s1 by default: the hoofdpersoon.
    main = gemeente.query(case_id, ["huisvesting"], ["gemeente-demo"])
    assert main.json()["subject"] == {"ref": "s1", "role": "hoofdpersoon"}
    assert results(main)[("gemeente-demo", "huisvesting")]["status"] == "ok"

    # The partner: the leefgebieden rule covers partners; her own data comes back.
    partner = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/queries",
        {"categories": ["huisvesting"], "sources": ["gemeente-demo"], "subject": "s2"},
    )
    assert partner.json()["subject"] == {"ref": "s2", "role": "partner"}
    found = results(partner)[("gemeente-demo", "huisvesting")]
    assert found["status"] == "ok", found
    assert found["records"][0]["fields"]["woonsituatie"] == "huurwoning"  # persoon-b's

    # The child: no rule covers a kind's housing.
    child = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/queries",
        {"categories": ["huisvesting"], "sources": ["gemeente-demo"], "subject": "s3"},
    )
    assert results(child)[("gemeente-demo", "huisvesting")]["reason"] == "subject_role"

    for ref in ("s9", "S1", "1", "s0", "hoofdpersoon", ""):
        refused = gemeente.call(
            "POST",
            f"/v1/cases/{case_id}/queries",
            {"categories": ["huisvesting"], "subject": ref},
        )
        assert refused.status_code in (404, 422), (ref, refused.text)
        assert is_problem(refused)

    entries = audit_entries(stack, case_id)
    partner_entries = [
        e for e in entries if e["kind"] == "disclosure" and e["details"].get("subject_ref") == "s2"
    ]
    assert len(partner_entries) == 1
    denied = [
        e for e in entries if e["kind"] == "decision" and e["details"].get("subject_ref") == "s3"
    ]
    assert denied and denied[0]["reason"] == "subject_role"
    assert not any(bsn in str(entries) for bsn in ALL_BSNS)


def test_inzage_per_person_and_erasure_per_person(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    case_id = gemeente.call("POST", "/v1/cases", _household()).json()["id"]
    partner_query = {"categories": ["huisvesting"], "sources": ["gemeente-demo"], "subject": "s2"}
    assert gemeente.call("POST", f"/v1/cases/{case_id}/queries", partner_query).status_code == 200
    desk = stack.runtime.rights_desk
    partner_view = desk.inzage(PEOPLE[1].bsn, "api")
    assert [(d.case, d.category) for d in partner_view.disclosures] == [(case_id, "huisvesting")]
    # The hoofdpersoon's inzage does not show what was disclosed about the partner.
    assert [d for d in desk.inzage(PEOPLE[0].bsn, "api").disclosures if d.case == case_id] == []
    # The child, about whom nothing left, sees nothing.
    assert [d for d in desk.inzage(PEOPLE[2].bsn, "api").disclosures if d.case == case_id] == []

    # Erase the partner alone: she is gone, the others stay.
    pseudonym = stack.runtime.pseudonymizer.pseudonym(PEOPLE[1].bsn)
    erase_subject(stack.runtime.db, pseudonym)
    gone = gemeente.call("POST", f"/v1/cases/{case_id}/queries", partner_query)
    assert gone.status_code == 404, gone.text
    assert gone.json()["type"] == problem_type("subject-erased")
    main = gemeente.query(case_id, ["huisvesting"], ["gemeente-demo"])
    assert results(main)[("gemeente-demo", "huisvesting")]["status"] == "ok"


def test_hostile_household_bodies(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    base = _household()
    bodies: list[dict[str, Any]] = [
        {**base, "subjects": [{"bsn": MAIN, "role": "hoofdpersoon"}] * 2},  # same BSN twice
        {
            **base,
            "subjects": [{"bsn": MAIN, "role": "hoofdpersoon"}, {"bsn": MAIN, "role": "kind"}],
        },
        {**base, "subjects": [{"bsn": MAIN, "role": "kind"}]},  # no hoofdpersoon
        {
            **base,
            "subjects": [
                {"bsn": MAIN, "role": "hoofdpersoon"},
                {"bsn": PARTNER, "role": "hoofdpersoon"},
            ],
        },
        {**base, "subjects": [{"bsn": MAIN, "role": "koning"}]},
        {**base, "subjects": [{"bsn": MAIN, "role": "Hoofdpersoon"}]},
        {**base, "subjects": [{"bsn": MAIN, "role": "hoofdpersoon", "birth_year": 1800}]},
        {**base, "subjects": [{"bsn": MAIN, "role": "hoofdpersoon", "birth_year": "1988"}]},
        {**base, "subjects": [{"bsn": MAIN, "role": "hoofdpersoon", "naam": "Jan"}]},
        {**base, "subjects": [{"bsn": "999990000", "role": "hoofdpersoon"}]},
        {**base, "subjects": []},
        {**base, "subjects": None},
        {**base, "subject": {"bsn": MAIN}},  # both subject and subjects
        {**base, "subjects": [{"bsn": MAIN, "role": "hoofdpersoon"}, {"bsn": CHILD}]},
        {
            **base,
            "subjects": [{"bsn": f"9999900{n:02d}", "role": "kind"} for n in range(30)],
        },
    ]
    for body in bodies:
        refused = gemeente.call("POST", "/v1/cases", body)
        assert 400 <= refused.status_code < 500, (body, refused.text)
        assert is_problem(refused)
        assert "Traceback" not in refused.text
        assert not any(bsn in refused.text for bsn in ALL_BSNS), refused.text
    duplicate = gemeente.call("POST", "/v1/cases", bodies[1])
    assert duplicate.json()["type"] == problem_type("duplicate-subject")
