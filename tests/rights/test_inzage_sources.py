"""Inzage at every joint controller: fan-out, answers, late sources, the offline copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.demo.stack import Stack
from tests.brokering.support import BSN, logged_in, open_case
from tests.rights.conftest import person_login
from tests.rights.support import (
    SOURCE_PARTIES,
    denied_entries,
    file_as_person,
    patient_sources,
    rights_entries,
    set_times,
)
from tests.web.conftest import login

LATE = "woningcorporatie-demo"


def test_inzage_reaches_every_source_and_a_late_one_is_counted(stack: Stack) -> None:
    patient_sources(stack)
    open_case(stack)
    stack.sources.source(LATE).answer_inzage_later = True
    person = person_login(stack, "persoon-a")
    body = file_as_person(person, {"type": "inzage", "details": "Wat heeft u over mij?"})

    statuses = {item["party"]: item["status"] for item in body["sources"]}
    assert set(statuses) == SOURCE_PARTIES  # every joint controller, not only who disclosed
    assert statuses.pop(LATE) == "sent"
    assert set(statuses.values()) == {"answered"}
    for party in SOURCE_PARTIES:
        received = stack.sources.source(party).rights_requests
        assert [(r.id, r.type) for r in received] == [(body["id"], "inzage")]

    page = person.get("/mijn")
    assert page.status_code == 200
    assert "dakloos" in page.text  # gemeente's own record, copied to the person
    assert "gevraagd, nog geen antwoord" in page.text

    past = datetime.now(UTC) - timedelta(days=1)
    set_times(stack, body["id"], received_at=past - timedelta(days=31), deadline=past)
    seen = person.get(f"/v1/rights-requests/{body['id']}").json()
    assert {s["party"]: s["status"] for s in seen["sources"]}[LATE] == "late"
    assert seen["late_sources"] == 1
    assert "niet op tijd beantwoord" in person.get("/mijn").text

    officer = login(stack.base_url, "fg.demo", "/privacy")
    privacy = officer.get("/privacy")
    assert "organisatie heeft niet op tijd geantwoord" in privacy.text
    assert LATE in privacy.text

    woning = logged_in(stack, LATE)
    record = {
        "id": "woni-9",
        "category": "huisvesting",
        "updated": "2026-10-01T09:00:00Z",
        "fields": {"huurachterstand": "2 maanden"},
    }
    answered = woning.call(
        "POST", f"/v1/rights-requests/{body['id']}/answer", {"records": [record]}
    )
    assert answered.status_code == 200, answered.text
    assert {s["party"]: s["status"] for s in answered.json()["sources"]}[LATE] == "answered"
    assert "2 maanden" in person.get("/mijn").text
    assert "organisatie heeft niet op tijd geantwoord" not in officer.get("/privacy").text

    again = woning.call("POST", f"/v1/rights-requests/{body['id']}/answer", {"records": []})
    assert again.status_code == 409
    stranger = logged_in(stack, "om-demo")  # no source: the inzage was never sent to it
    refused = stranger.call("POST", f"/v1/rights-requests/{body['id']}/answer", {"records": []})
    assert refused.status_code == 404

    outcomes = [
        (e["outcome"], e.get("reason"), e.get("source")) for e in rights_entries(stack, BSN)
    ]
    assert ("source_answered", "late", LATE) in outcomes
    refusals = [(e["party"], e["reason"]) for e in denied_entries(stack, body["id"])]
    assert refusals == [(LATE, "answer-refused"), ("om-demo", "not-found")]


def test_the_download_works_offline(stack: Stack) -> None:
    patient_sources(stack)
    open_case(stack)
    person = person_login(stack, "persoon-a")
    file_as_person(person, {"type": "inzage", "details": "kopie graag"})
    download = person.get("/mijn/afdruk", params={"download": "1"})
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    html = download.text
    assert "<style>" in html and "</style>" in html
    assert 'rel="stylesheet"' not in html  # nothing to fetch: it opens without a network
    assert "dakloos" in html  # the sources' copy is in it, with the disclosure timeline
    assert 'id="verstrekkingen"' in html or 'id="geen-verstrekkingen"' in html


def test_a_malformed_answer_is_refused_whole(stack: Stack) -> None:
    patient_sources(stack)
    open_case(stack)
    stack.sources.source(LATE).answer_inzage_later = True
    person = person_login(stack, "persoon-a")
    body = file_as_person(person, {"type": "inzage", "details": "graag"})
    woning = logged_in(stack, LATE)
    path = f"/v1/rights-requests/{body['id']}/answer"
    for bad in (
        {"records": [{"id": "x"}]},
        {
            "records": [
                {
                    "id": "a\x00b",
                    "category": "huisvesting",
                    "updated": "2026-10-01T09:00:00Z",
                    "fields": {},
                }
            ]
        },
        {"records": [{"id": "a", "category": "huisvesting", "updated": "gisteren", "fields": {}}]},
        {"records": "alles"},
    ):
        response = woning.call("POST", path, bad)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    seen = person.get(f"/v1/rights-requests/{body['id']}").json()
    assert {s["party"]: s["status"] for s in seen["sources"]}[LATE] == "sent"
