"""/mijn and /ovj over real HTTP: the person withdraws their consent; the burgemeester decides.

The person (dev IdP login with a ``bsn`` claim) sees their own consents and
withdraws one with a CSRF-protected button; from the next query the GGZ data
stops. Another person cannot withdraw it. The burgemeester logs in to /ovj and
sees the police-data request with the requester's motivation.
"""

from __future__ import annotations

from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from tests.brokering.support import audit_entries, open_case, results
from tests.consent.support import ask, pending_id
from tests.grounds.support import GGZ, recorded
from tests.web.conftest import hidden_fields, login

PERSON_A, PERSON_B = demo_people()[0], demo_people()[1]
POLICE = "politie_contacten"


def test_the_person_withdraws_their_consent_on_mijn(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ground = recorded(gemeente, case_id)
    assert results(gemeente.query(case_id, [GGZ]))[("ggz-demo", GGZ)]["status"] == "ok"

    other = login(stack.base_url, PERSON_B.label, "/mijn")
    other_page = other.get("/mijn")
    assert other_page.status_code == 200 and ground["id"] not in other_page.text
    stolen = other.post(
        f"/mijn/toestemmingen/{ground['id']}/intrekken",
        data={"csrf_token": hidden_fields(other_page.text).get("csrf_token", "")},
    )
    assert stolen.status_code == 404  # not theirs: looks unknown

    person = login(stack.base_url, PERSON_A.label, "/mijn")
    page = person.get("/mijn")
    assert page.status_code == 200
    assert ground["id"] in page.text and "Intrekken" in page.text
    forged = person.post(f"/mijn/toestemmingen/{ground['id']}/intrekken", data={"csrf_token": "x"})
    assert forged.status_code == 403
    done = person.post(
        f"/mijn/toestemmingen/{ground['id']}/intrekken",
        data={"csrf_token": hidden_fields(page.text)["csrf_token"]},
    )
    assert done.status_code in (200, 303), done.text
    assert "Ingetrokken" in person.get("/mijn").text

    after = results(gemeente.query(case_id, [GGZ]))[("ggz-demo", GGZ)]
    assert (after["status"], after["reason"]) == ("denied", "ground_required")
    withdrawn = [
        e
        for e in audit_entries(stack, case_id)
        if (e["kind"], e["outcome"]) == ("ground", "withdrawn")
    ]
    assert [e["party"] for e in withdrawn] == ["betrokkene"]


def test_the_burgemeester_sees_police_requests_with_their_motivation(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id, [POLICE]), POLICE)
    _again, other_case = open_case(stack)
    criminal_id = pending_id(ask(gemeente, other_case), "justitiele_gegevens")
    mayor = login(stack.base_url, "burgemeester.demo", "/ovj")
    page = mayor.get("/ovj")
    assert page.status_code == 200, page.text
    assert consent_id in page.text and "nodig voor het plan van aanpak" in page.text
    detail = mayor.get(f"/ovj/{consent_id}")
    assert detail.status_code == 200 and "politie-demo" in detail.text
    assert criminal_id not in page.text  # a request for justitiele_gegevens only is not hers
    assert mayor.get(f"/ovj/{criminal_id}").status_code == 404
