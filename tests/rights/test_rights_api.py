"""Rights requests over the real stack: deadlines, verzet, forwarding, decisions, access."""

from __future__ import annotations

from datetime import datetime

from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.policy.durations import parse_duration
from gateway.rights.deadlines import AVG_DEFAULT, deadline_for
from tests.brokering.support import BSN, logged_in, open_case, results
from tests.rights.conftest import csrf_of, person_login

OTHER_BSN = demo_people()[1].bsn.reveal()


def file(client: object, body: dict[str, object]) -> dict[str, object]:
    response = client.call("POST", "/v1/rights-requests", body)  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    found: dict[str, object] = response.json()
    return found


def test_deadlines_per_type_come_from_the_covenant(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    terms = {"inzage": "P1M", "correctie": "P14D", "verzet": "P28D"}
    for kind, term in terms.items():
        body = file(
            gemeente,
            {"type": kind, "subject": {"bsn": BSN}, "details": "graag", "cases": [case_id]},
        )
        assert body["status"] == "pending"
        received = datetime.fromisoformat(str(body["received"]))
        deadline = datetime.fromisoformat(str(body["deadline"]))
        assert deadline == parse_duration(term).add_to(received), kind
        assert body["responsible_party"] == "gemeente-demo"


def test_without_a_covenant_the_avg_month_applies() -> None:
    received = datetime(2027, 1, 31, 12, 0)
    assert parse_duration("P1M") == AVG_DEFAULT
    assert deadline_for(None, "correctie", received) == datetime(2027, 2, 28, 12, 0)


def test_pending_verzet_restricts_the_named_case_until_refused(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    _, other_case = open_case(stack)
    before = results(gemeente.query(case_id, ["huisvesting"]))
    assert {r["status"] for r in before.values()} == {"ok"}

    filed = file(
        gemeente,
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "bezwaar", "cases": [case_id]},
    )
    during = results(gemeente.query(case_id, ["huisvesting", "psychisch_welzijn"]))
    assert during
    for result in during.values():
        assert (result["status"], result["reason"]) == ("denied", "objection")
        assert "records" not in result
    untouched = results(gemeente.query(other_case, ["huisvesting"]))
    assert {r["status"] for r in untouched.values()} == {"ok"}

    decided = gemeente.call(
        "POST",
        f"/v1/rights-requests/{filed['id']}/decision",
        {"decision": "refused", "reason": "Zwaarwegend algemeen belang weegt zwaarder."},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "refused"
    after = results(gemeente.query(case_id, ["huisvesting"]))
    assert {r["status"] for r in after.values()} == {"ok"}


def test_upheld_verzet_of_the_person_without_cases_covers_every_case(stack: Stack) -> None:
    """Only the person files a verzet naming no case (a partner must name its cases)."""
    gemeente, case_id = open_case(stack)
    _, other_case = open_case(stack)
    person = person_login(stack, "persoon-a")
    filed_by_person = person.post(
        "/v1/rights-requests",
        json={"type": "verzet", "details": "alles"},
        headers={"X-Ketenpoort-CSRF": csrf_of(person)},
    )
    assert filed_by_person.status_code == 201, filed_by_person.text
    filed = filed_by_person.json()
    granted = gemeente.call(
        "POST",
        f"/v1/rights-requests/{filed['id']}/decision",
        {"decision": "granted", "reason": "Bezwaar gegrond."},
    )
    assert granted.status_code == 200, granted.text
    for case in (case_id, other_case):
        found = results(gemeente.query(case, ["huisvesting"]))
        assert {(r["status"], r["reason"]) for r in found.values()} == {("denied", "objection")}


def test_correctie_is_forwarded_and_decided_by_the_source(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    body = file(
        gemeente,
        {
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "De diagnose klopt niet.",
            "records": ["ggz-a-1"],
            "source": "ggz-demo",
            "cases": [case_id],
        },
    )
    assert body["responsible_party"] == "ggz-demo"
    # A Source API source: the peer-region fields (docs/federation.md) stay null.
    assert body["forwarded"] == [
        {
            "party": "ggz-demo",
            "status": "forwarded",
            "reason": None,
            "peer_request": None,
            "outcome": None,
            "outcome_at": None,
            "executed_at": None,
            "synced_at": None,
        }
    ]
    received = stack.sources.source("ggz-demo").rights_requests
    assert [(r.id, r.type, r.records) for r in received] == [
        (body["id"], "correctie", ("ggz-a-1",))
    ]
    path = f"/v1/rights-requests/{body['id']}/decision"
    decision = {"decision": "partially_granted", "reason": "Aangevuld, niet verwijderd."}
    refused = gemeente.call("POST", path, decision)
    assert refused.status_code == 403
    ggz = logged_in(stack, "ggz-demo")
    done = ggz.call("POST", path, decision)
    assert done.status_code == 200, done.text
    assert done.json()["reason"] == "Aangevuld, niet verwijderd."
    again = ggz.call("POST", path, decision)
    assert again.status_code == 409


def test_verzet_reaches_every_participating_source_with_the_capability(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, participants=["politie-demo", "om-demo"])
    body = file(
        gemeente,
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "bezwaar", "cases": [case_id]},
    )
    forwarded = {item["party"]: item["status"] for item in body["forwarded"]}  # type: ignore[attr-defined]
    assert forwarded == {"gemeente-demo": "forwarded", "politie-demo": "forwarded"}
    assert [r.id for r in stack.sources.source("politie-demo").rights_requests] == [body["id"]]


def test_decision_only_by_the_responsible_party(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    body = file(
        gemeente,
        {"type": "inzage", "subject": {"bsn": BSN}, "details": "alles", "cases": [case_id]},
    )
    path = f"/v1/rights-requests/{body['id']}/decision"
    decision = {"decision": "granted", "reason": "Overzicht verstrekt."}
    for party, status in (("politie-demo", 404), ("fg-demo", 403), ("om-demo", 404)):
        response = logged_in(stack, party).call("POST", path, decision)
        assert response.status_code == status, party  # 404: may not even read it
    assert gemeente.call("POST", path, decision).status_code == 200


def test_a_named_case_must_be_about_the_person(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    response = gemeente.call(
        "POST",
        "/v1/rights-requests",
        {"type": "verzet", "subject": {"bsn": OTHER_BSN}, "details": "x", "cases": [case_id]},
    )
    assert response.status_code == 422


def test_nobody_sees_another_persons_disclosures_or_requests(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    assert {r["status"] for r in results(gemeente.query(case_id, ["huisvesting"])).values()} == {
        "ok"
    }
    filed = file(
        gemeente,
        {"type": "correctie", "subject": {"bsn": BSN}, "details": "fout", "cases": [case_id]},
    )
    path = f"/v1/rights-requests/{filed['id']}"

    person_a = person_login(stack, "persoon-a")
    mine = person_a.get("/v1/me/disclosures")
    assert mine.status_code == 200, mine.text
    assert {d["case"] for d in mine.json()["disclosures"]} == {case_id}
    assert {d["recipient"] for d in mine.json()["disclosures"]} == {"gemeente-demo"}
    assert person_a.get(path).status_code == 200

    person_b = person_login(stack, "persoon-b")
    theirs = person_b.get("/v1/me/disclosures")
    assert theirs.status_code == 200
    assert theirs.json() == {
        "disclosures": [],
        "withheld": {"count": 0, "grounds": [], "by_ground": []},
        "complete": True,
        "total": 0,
        "summary": [],
    }
    assert person_b.get(path).status_code == 404
    assert logged_in(stack, "politie-demo").call("GET", path).status_code == 404
    assert logged_in(stack, "fg-demo").call("GET", path).status_code == 200
    assert gemeente.call("GET", "/v1/me/disclosures").status_code == 403
    assert stack.clients[0].http.get("/v1/me/disclosures").status_code == 401


def test_person_files_through_the_session_with_the_csrf_header(stack: Stack) -> None:
    person = person_login(stack, "persoon-a")
    body = {"type": "correctie", "details": "Mijn adres klopt niet."}
    assert person.post("/v1/rights-requests", json=body).status_code == 403
    headers = {"X-Ketenpoort-CSRF": csrf_of(person)}
    other = {**body, "subject": {"bsn": OTHER_BSN}}
    assert person.post("/v1/rights-requests", json=other, headers=headers).status_code == 403
    filed = person.post("/v1/rights-requests", json=body, headers=headers)
    assert filed.status_code == 201, filed.text
    assert filed.json()["channel"] == "portal"
    assert filed.json()["deadline"]
    shown = person.get(f"/v1/rights-requests/{filed.json()['id']}")
    assert shown.json()["details"] == "Mijn adres klopt niet."
    assert shown.json()["convenant"] == DEMO_COVENANT
