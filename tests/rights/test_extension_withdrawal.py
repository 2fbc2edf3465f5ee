"""Extension (AVG art. 12(3)) by the responsible party, withdrawal by the person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from tests.brokering.support import BSN, logged_in, open_case, results
from tests.rights.conftest import csrf_of, person_login
from tests.rights.support import denied_entries, file_as_person, rights_entries, set_times


def _filed_by_gemeente(stack: Stack, kind: str = "inzage") -> tuple[object, str, dict[str, object]]:
    gemeente, case_id = open_case(stack)
    response = gemeente.call(
        "POST",
        "/v1/rights-requests",
        {"type": kind, "subject": {"bsn": BSN}, "details": "graag", "cases": [case_id]},
    )
    assert response.status_code == 201, response.text
    return gemeente, case_id, response.json()


def test_extension_once_within_the_first_term_and_at_most_two_months(stack: Stack) -> None:
    gemeente, _, body = _filed_by_gemeente(stack)
    path = f"/v1/rights-requests/{body['id']}/extend"
    first = datetime.fromisoformat(str(body["deadline"]))

    too_long = (first + timedelta(days=63)).date().isoformat()
    refused = gemeente.call("POST", path, {"until": too_long, "reason": "drukte"})  # type: ignore[attr-defined]
    assert refused.status_code == 422
    assert refused.json()["reason"] == "too_long"
    earlier = (first - timedelta(days=1)).date().isoformat()
    refused = gemeente.call("POST", path, {"until": earlier, "reason": "x"})  # type: ignore[attr-defined]
    assert refused.json()["reason"] == "not_later"

    politie = logged_in(stack, "politie-demo")  # a source, not responsible: cannot even see it
    assert politie.call("POST", path, {"until": "2027-01-01", "reason": "x"}).status_code == 404

    until = (first + timedelta(days=30)).date()
    done = gemeente.call(  # type: ignore[attr-defined]
        "POST", path, {"until": until.isoformat(), "reason": "Vijf organisaties moeten zoeken."}
    )
    assert done.status_code == 200, done.text
    extended = done.json()
    assert extended["deadline"].startswith(until.isoformat())
    assert extended["extension"]["first_deadline"] == first.isoformat()
    assert extended["extension"]["reason"] == "Vijf organisaties moeten zoeken."
    assert extended["extension"]["by"] == "gemeente-demo"

    again = gemeente.call("POST", path, {"until": until.isoformat(), "reason": "nog eens"})  # type: ignore[attr-defined]
    assert again.status_code == 422 and again.json()["reason"] == "already_extended"

    # The officer's overdue list follows the extended deadline, not the first one.
    past = datetime.now(UTC) - timedelta(days=2)
    set_times(stack, str(body["id"]), first_deadline=past, received_at=past - timedelta(days=30))
    fg = logged_in(stack, "fg-demo")
    overdue = fg.call("GET", "/v1/rights-requests?overdue=true").json()["requests"]
    assert body["id"] not in [r["id"] for r in overdue]
    set_times(stack, str(body["id"]), deadline=past)
    overdue = fg.call("GET", "/v1/rights-requests?overdue=true").json()["requests"]
    assert body["id"] in [r["id"] for r in overdue]

    person = person_login(stack, "persoon-a")
    page = person.get(f"/mijn/verzoeken/{body['id']}")
    assert "Vijf organisaties moeten zoeken." in page.text
    assert [e["outcome"] for e in rights_entries(stack, BSN)].count("extended") == 1
    reasons = [e["reason"] for e in denied_entries(stack, str(body["id"]))]
    assert reasons == ["extension-refused", "extension-refused", "not-found", "extension-refused"]


def test_no_extension_after_the_first_term(stack: Stack) -> None:
    gemeente, _, body = _filed_by_gemeente(stack, "correctie")
    past = datetime.now(UTC) - timedelta(hours=1)
    set_times(stack, str(body["id"]), deadline=past)
    later = (date.today() + timedelta(days=20)).isoformat()
    response = gemeente.call(  # type: ignore[attr-defined]
        "POST", f"/v1/rights-requests/{body['id']}/extend", {"until": later, "reason": "te laat"}
    )
    assert response.status_code == 422
    assert response.json()["reason"] == "first_term_passed"


def test_the_privacy_officer_may_extend(stack: Stack) -> None:
    _, _, body = _filed_by_gemeente(stack)
    first = datetime.fromisoformat(str(body["deadline"]))
    fg = logged_in(stack, "fg-demo")
    until = (first + timedelta(days=10)).date().isoformat()
    response = fg.call(
        "POST", f"/v1/rights-requests/{body['id']}/extend", {"until": until, "reason": "ziekte"}
    )
    assert response.status_code == 200, response.text


def test_the_person_withdraws_their_verzet_and_its_restriction_ends(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    person = person_login(stack, "persoon-a")
    body = file_as_person(person, {"type": "verzet", "details": "bezwaar"})
    during = results(gemeente.query(case_id, ["huisvesting"]))
    assert {r["reason"] for r in during.values()} == {"objection"}

    path = f"/v1/rights-requests/{body['id']}/withdraw"
    assert gemeente.call("POST", path, {}).status_code == 403  # a partner cannot withdraw
    other = person_login(stack, demo_people()[1].label)
    stranger = other.post(path, headers={"X-Ketenpoort-CSRF": csrf_of(other)})
    assert stranger.status_code == 404  # someone else's request: as if it did not exist
    no_csrf = person.post(path)
    assert no_csrf.status_code == 403

    done = person.post(path, headers={"X-Ketenpoort-CSRF": csrf_of(person)})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "withdrawn" and done.json()["withdrawn_at"]
    assert done.json()["overdue"] is False
    after = results(gemeente.query(case_id, ["huisvesting"]))
    assert {r["status"] for r in after.values()} == {"ok"}
    again = person.post(path, headers={"X-Ketenpoort-CSRF": csrf_of(person)})
    assert again.status_code == 409
    decided = gemeente.call(
        "POST", f"/v1/rights-requests/{body['id']}/decision", {"decision": "granted", "reason": "x"}
    )
    assert decided.status_code == 409
    assert "withdrawn" in [e["outcome"] for e in rights_entries(stack, BSN)]
    page = person.get(f"/mijn/verzoeken/{body['id']}")
    assert "Ingetrokken" in page.text


def test_withdraw_through_the_portal_form(stack: Stack) -> None:
    open_case(stack)
    person = person_login(stack, "persoon-a")
    body = file_as_person(person, {"type": "correctie", "details": "adres klopt niet"})
    page = person.get(f"/mijn/verzoeken/{body['id']}")
    assert 'id="intrekken"' in page.text
    done = person.post(
        f"/mijn/verzoeken/{body['id']}/intrekken", data={"csrf_token": csrf_of(person)}
    )
    assert done.status_code == 200
    assert "U heeft dit verzoek ingetrokken." in done.text
    other = person_login(stack, demo_people()[1].label)
    foreign = other.post(
        f"/mijn/verzoeken/{body['id']}/intrekken", data={"csrf_token": csrf_of(other)}
    )
    assert foreign.status_code == 404
