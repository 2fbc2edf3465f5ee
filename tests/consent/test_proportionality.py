"""The OvJ's proportionality check and the competent authority (API.md §3–§4).

A query for criminal data says why (motivation code and text; 422 without);
the OvJ sees it with the sources that would answer and any verzet; a grant
may narrow to sources and fields (minimisation applies the granted fields);
a refusal stands until a new motivation; who may decide follows the
category's ``agreement_required_from`` (police data: OvJ or burgemeester).
Attacks: granting outside the asked categories, sources or fields; a
non-competent party deciding; bypassing a refusal by querying again; fields
outside the grant leaking.
"""

from __future__ import annotations

from typing import Any

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.partner_client import PartnerClient
from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.problems import PROBLEM_BASE
from tests.brokering.support import (
    CASUSOVERLEG,
    MOTIVATION,
    audit_entries,
    open_case,
)
from tests.consent.support import CRIMINAL, ask, decide, grant, om, pending_id

NEW_MOTIVATION = {"code": "risico_geweld", "text": "nieuwe dreiging sinds gisteren"}
POLICE = "politie_contacten"
PERSON_H = next(p for p in demo_people() if p.label == "persoon-h").bsn.reveal()


def _mayor(stack: Stack) -> PartnerClient:
    client = stack.client("burgemeester-demo", employee="bm.1")
    client.login(DEMO_COVENANT, CASUSOVERLEG)
    return client


def _listed(client: PartnerClient, status: str | None = None) -> list[dict[str, Any]]:
    path = "/v1/consents" + (f"?status={status}" if status else "")
    response = client.call("GET", path)
    assert response.status_code == 200, response.text
    consents: list[dict[str, Any]] = response.json()["consents"]
    return consents


def test_criminal_queries_need_a_motivation_from_the_covenant(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    bare = gemeente.query(case_id, [CRIMINAL])
    assert bare.status_code == 422, bare.text
    assert bare.json()["type"] == PROBLEM_BASE + "motivation-required"
    assert "plan_van_aanpak" in bare.json()["motivation_codes"]
    wrong = gemeente.query(case_id, [CRIMINAL], motivation={"code": "nieuwsgierig", "text": "x"})
    assert wrong.status_code == 422
    assert wrong.json()["type"] == PROBLEM_BASE + "motivation-code"
    # ordinary categories need none
    assert gemeente.query(case_id, ["huisvesting"]).status_code == 200
    assert _listed(om(stack)) == []  # no request was opened by the refused queries


def test_the_ovj_sees_motivation_sources_subject_and_verzet(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    [shown] = _listed(om(stack), "pending")
    assert shown["id"] == consent_id
    assert shown["requester"] == "gemeente-demo" and shown["employee"] == gemeente.employee
    assert shown["motivation"] == MOTIVATION
    assert shown["subject_ref"] == "s1"
    assert sorted(shown["sources"]) == ["politie-demo", "reclassering-demo"]
    assert shown["objection_pending"] is False
    requested = [
        e
        for e in audit_entries(stack, case_id)
        if (e["kind"], e["outcome"]) == ("consent", "requested")
    ]
    assert requested[0]["details"]["motivation_code"] == "plan_van_aanpak"
    assert len(requested[0]["details"]["motivation_sha256"]) == 64
    assert all(MOTIVATION["text"] not in str(entry) for entry in audit_entries(stack, case_id))


def test_a_refusal_stands_until_a_new_motivation(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ovj = om(stack)
    first = pending_id(ask(gemeente, case_id))
    refused = decide(ovj, first, decision="refused", reason="niet proportioneel")
    assert refused.status_code == 200, refused.text

    for _attempt in range(2):  # re-querying does not reopen the question
        again = ask(gemeente, case_id)
        statuses = {(r["status"], r["reason"], r.get("consent_id")) for r in again.values()}
        assert statuses == {("denied", "consent_refused", first)}, again
    assert _listed(ovj, "pending") == []

    renewed = ask(gemeente, case_id, motivation=NEW_MOTIVATION)
    second = pending_id(renewed)
    assert second != first
    [pending] = _listed(ovj, "pending")
    assert pending["id"] == second and pending["motivation"] == NEW_MOTIVATION
    refusals = [
        e
        for e in audit_entries(stack, case_id)
        if e["kind"] == "decision" and e["reason"] == "consent_refused"
    ]
    assert refusals and all(e["consent_id"] == first for e in refusals)


def test_a_grant_narrowed_to_one_source_and_one_field(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ovj = om(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(
        ovj,
        consent_id,
        categories=[CRIMINAL],
        sources=["reclassering-demo"],
        fields={CRIMINAL: ["lopende_zaken"]},
    )
    found = ask(gemeente, case_id)
    answer = found[("reclassering-demo", CRIMINAL)]
    assert answer["status"] == "ok", answer
    assert answer["consent_id"] == consent_id
    for record in answer["records"]:
        assert set(record["fields"]) == {"lopende_zaken"}, record  # nothing outside the grant
    police = found[("politie-demo", CRIMINAL)]
    assert police["status"] == "pending_consent" and "records" not in police
    assert police["consent_id"] != consent_id  # a new question for the source not granted
    [granted] = _listed(ovj, "granted")
    assert granted["granted_sources"] == ["reclassering-demo"]
    assert granted["granted_fields"] == {CRIMINAL: ["lopende_zaken"]}


def test_grants_outside_what_was_asked_are_refused(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ovj = om(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    attempts: list[tuple[dict[str, Any], str]] = [
        ({"categories": [CRIMINAL, "detentie"]}, "consent-not-narrower"),
        ({"categories": [CRIMINAL], "sources": ["dji-demo"]}, "consent-not-narrower"),
        ({"categories": [CRIMINAL], "fields": {CRIMINAL: ["adres"]}}, "consent-not-narrower"),
        ({"categories": [CRIMINAL], "fields": {"detentie": ["verlof"]}}, "consent-not-narrower"),
        ({"categories": [CRIMINAL], "fields": {CRIMINAL: []}}, "consent-not-narrower"),
    ]
    for body, slug in attempts:
        response = decide(ovj, consent_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["type"] == PROBLEM_BASE + slug, (body, response.text)
    assert all(r["status"] == "pending_consent" for r in ask(gemeente, case_id).values())


def test_police_data_may_be_granted_by_the_burgemeester(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, bsn=PERSON_H)
    consent_id = pending_id(ask(gemeente, case_id, [POLICE]), POLICE)
    mayor = _mayor(stack)
    [shown] = _listed(mayor, "pending")
    assert shown["id"] == consent_id and shown["sources"] == ["politie-demo"]
    granted = grant(mayor, consent_id, categories=[POLICE])
    assert granted["decided_by_party"] == "burgemeester-demo"
    answer = ask(gemeente, case_id, [POLICE])[("politie-demo", POLICE)]
    assert answer["status"] == "ok", answer
    assert answer["records"][0]["fields"]["aantal_incidenten"] == 4
    entry = next(
        e
        for e in audit_entries(stack, case_id)
        if (e["kind"], e["outcome"]) == ("consent", "granted")
    )
    assert entry["party"] == "burgemeester-demo" and entry["employee"] == "bm.1"


def test_the_burgemeester_may_not_decide_on_criminal_records(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    mayor = _mayor(stack)
    assert _listed(mayor) == []  # not its request to see
    hidden = mayor.call("GET", f"/v1/consents/{consent_id}")
    assert hidden.status_code == 404, hidden.text
    forged = decide(mayor, consent_id, categories=[CRIMINAL])
    assert forged.status_code == 404, forged.text
    assert all(r["status"] == "pending_consent" for r in ask(gemeente, case_id).values())


def test_a_mixed_request_lets_the_burgemeester_grant_only_police_data(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id, [CRIMINAL, POLICE]), CRIMINAL)
    mayor = _mayor(stack)
    both = decide(mayor, consent_id, categories=[CRIMINAL, POLICE])
    assert both.status_code == 403, both.text
    assert both.json()["type"] == PROBLEM_BASE + "consent-not-competent"
    assert both.json()["not_competent"] == [CRIMINAL]
    runtime = stack.runtime
    with runtime.db.session() as session:
        page = search_entries(
            session,
            runtime.audit.vault,
            EntryQuery(party="burgemeester-demo", kind="consent", outcome="denied", limit=10),
        )
    assert [(e["reason"], e["consent_id"]) for e in page.entries] == [("not_competent", consent_id)]
    assert grant(mayor, consent_id, categories=[POLICE])["granted_categories"] == [POLICE]


def test_a_partner_that_decides_nothing_cannot_decide(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    for party in ("reclassering-demo", "gemeente-demo"):
        client = stack.client(party)
        client.login(DEMO_COVENANT, CASUSOVERLEG)
        response = decide(client, consent_id, categories=[CRIMINAL])
        assert response.status_code == 403, response.text
        assert response.json()["type"] == PROBLEM_BASE + "not-om"
    assert _listed(om(stack), "pending")[0]["id"] == consent_id
