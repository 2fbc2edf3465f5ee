"""Promise 3 over the real stack: criminal data only under a covering, live OvJ consent."""

from __future__ import annotations

from datetime import timedelta

from gateway.consent.expiry import expire_due
from gateway.demo.stack import Stack
from gateway.subjects.bsn import Bsn
from tests.brokering.support import BSN, audit_entries, is_problem, logged_in, open_case
from tests.consent.support import (
    CRIMINAL,
    CRIMINAL_SOURCES,
    OVJ_EMPLOYEE,
    ask,
    decide,
    grant,
    in_days,
    om,
    pending_id,
    set_valid_until,
    today,
)

OTHER_BSN = "999990019"


def test_pending_consent_creates_then_reuses_one_request(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    first = ask(gemeente, case_id)
    consent_id = pending_id(first)
    assert {s for (s, _c) in first} == set(CRIMINAL_SOURCES)
    again = pending_id(ask(gemeente, case_id, [CRIMINAL, "detentie"]))
    assert again == consent_id, "the open request is reused, not duplicated"

    listed = om(stack).call("GET", "/v1/consents").json()["consents"]
    assert [c["id"] for c in listed if c["status"] == "pending"] == [consent_id]
    assert sorted(listed[0]["categories"]) == ["detentie", CRIMINAL]
    assert listed[0]["recipient"] == "gemeente-demo"
    assert listed[0]["case_phase"] == "casusoverleg"
    requested = [e for e in audit_entries(stack, case_id) if e["kind"] == "consent"]
    assert [(e["outcome"], e["consent_id"]) for e in requested] == [
        ("requested", consent_id),
        ("widened", consent_id),  # detentie added: logged (and re-announced) as a change
    ]


def test_grant_lets_data_flow_and_each_disclosure_names_the_consent(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    granted = grant(om(stack), consent_id)
    assert granted["status"] == "granted"
    assert granted["decided_by_employee"] == OVJ_EMPLOYEE
    assert granted["decided_by_party"] == "om-demo"

    found = ask(gemeente, case_id)
    for source in CRIMINAL_SOURCES:
        result = found[(source, CRIMINAL)]
        assert result["status"] == "ok", result
        assert result["consent_id"] == consent_id
        assert result["records"], "the demo person has justitiele gegevens at both sources"
    entries = audit_entries(stack, case_id)
    disclosures = [e for e in entries if e["kind"] == "disclosure" and e["category"] == CRIMINAL]
    assert len(disclosures) == 2
    assert {e["consent_id"] for e in disclosures} == {consent_id}
    grant_entry = [e for e in entries if e["kind"] == "consent" and e["outcome"] == "granted"]
    assert len(grant_entry) == 1
    assert grant_entry[0]["employee"] == OVJ_EMPLOYEE
    assert grant_entry[0]["party"] == "om-demo"


def test_narrowed_grant_covers_only_the_granted_categories(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, participants=[*CRIMINAL_SOURCES, "dji-demo"])
    asked = ask(gemeente, case_id, [CRIMINAL, "detentie"])
    consent_id = pending_id(asked)
    assert pending_id(asked, "detentie") == consent_id
    granted = grant(om(stack), consent_id, categories=[CRIMINAL], recipients=["gemeente-demo"])
    assert granted["granted_categories"] == [CRIMINAL]
    assert granted["categories"] == ["detentie", CRIMINAL]

    found = ask(gemeente, case_id, [CRIMINAL, "detentie"])
    assert all(found[(s, CRIMINAL)]["status"] == "ok" for s in CRIMINAL_SOURCES)
    detentie = found[("dji-demo", "detentie")]
    assert detentie["status"] == "pending_consent"
    assert "records" not in detentie
    assert detentie["consent_id"] != consent_id, "a new request for what was not granted"


def test_grant_cannot_widen_the_request(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    wider = decide(om(stack), consent_id, recipients=["gemeente-demo", "reclassering-demo"])
    assert wider.status_code == 422 and is_problem(wider)
    assert wider.json()["not_requested"] == ["reclassering-demo"]
    none = decide(om(stack), consent_id, categories=[])
    assert none.status_code == 422


def test_consent_never_covers_another_case_recipient_or_category(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, participants=[*CRIMINAL_SOURCES, "dji-demo"])
    consent_id = pending_id(ask(gemeente, case_id))
    grant(om(stack), consent_id)
    assert ask(gemeente, case_id)[("politie-demo", CRIMINAL)]["status"] == "ok"

    _, other_case = open_case(stack, bsn=OTHER_BSN)
    other = ask(gemeente, other_case)
    assert pending_id(other) != consent_id

    reclassering = logged_in(stack, "reclassering-demo")
    by_other_recipient = ask(reclassering, case_id)
    assert by_other_recipient[("politie-demo", CRIMINAL)]["status"] == "pending_consent"
    assert pending_id(by_other_recipient) != consent_id

    other_category = ask(gemeente, case_id, ["detentie"])
    assert other_category[("dji-demo", "detentie")]["status"] == "pending_consent"
    assert pending_id(other_category, "detentie") != consent_id


def test_refused_consent_discloses_nothing(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    refused = decide(om(stack), consent_id, decision="refused", reason="sepot")
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused"
    # Changed on purpose (issue 17, API.md §3): a refusal stands for the case, category
    # and recipient; asking again with the same motivation opens no new request ...
    again = ask(gemeente, case_id)
    assert all(
        (r["status"], r["reason"], r["consent_id"]) == ("denied", "consent_refused", consent_id)
        for r in again.values()
    ), again
    # ... a new motivation does.
    renewed = ask(gemeente, case_id, motivation={"code": "recidive", "text": "nieuw feit"})
    assert pending_id(renewed) != consent_id
    second = decide(om(stack), consent_id, decision="refused", reason="nogmaals")
    assert second.status_code == 409
    outcomes = [e["outcome"] for e in audit_entries(stack, case_id) if e["kind"] == "consent"]
    assert outcomes.count("refused") == 1
    assert not [e for e in audit_entries(stack, case_id) if e["kind"] == "disclosure"]


def test_revocation_takes_effect_at_the_next_query(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ovj = om(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(ovj, consent_id)
    assert ask(gemeente, case_id)[("politie-demo", CRIMINAL)]["status"] == "ok"
    revoked = ovj.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": "nieuwe feiten"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_by_employee"] == OVJ_EMPLOYEE
    after = ask(gemeente, case_id)
    assert all(r["status"] == "pending_consent" and "records" not in r for r in after.values())
    assert pending_id(after) != consent_id
    twice = ovj.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": "x"})
    assert twice.status_code == 409
    revocations = [
        e
        for e in audit_entries(stack, case_id)
        if e["kind"] == "consent" and e["outcome"] == "revoked"
    ]
    assert len(revocations) == 1 and revocations[0]["consent_id"] == consent_id


def test_expired_consent_stops_covering_and_expire_due_logs_it(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(om(stack), consent_id, valid_until=today().isoformat())
    assert ask(gemeente, case_id)[("politie-demo", CRIMINAL)]["status"] == "ok"
    set_valid_until(stack, consent_id, today() - timedelta(days=1))

    after = ask(gemeente, case_id)
    assert all(r["status"] == "pending_consent" for r in after.values())
    shown = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert shown["status"] == "expired"

    runtime = stack.runtime
    with runtime.db.session() as session:
        expired = expire_due(session, today(), audit=runtime.audit, policy=runtime.policy.current)
    assert expired == [consent_id]
    with runtime.db.session() as session:
        assert (
            expire_due(session, today(), audit=runtime.audit, policy=runtime.policy.current) == []
        )
    entries = [e for e in audit_entries(stack, case_id) if e["outcome"] == "expired"]
    assert [(e["kind"], e["consent_id"]) for e in entries] == [("consent", consent_id)]
    listed = om(stack).call("GET", "/v1/consents?status=expired").json()["consents"]
    assert [c["id"] for c in listed] == [consent_id]
    granted = om(stack).call("GET", "/v1/consents?status=granted").json()["consents"]
    assert granted == []


def test_valid_until_beyond_consent_max_is_a_422_problem(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    response = decide(om(stack), consent_id, valid_until=in_days(367 + 1))
    assert response.status_code == 422 and is_problem(response)
    body = response.json()
    assert body["type"] == "urn:ketenpoort:problem:consent-validity"
    assert body["latest_allowed"] > today().isoformat()
    past = decide(om(stack), consent_id, valid_until=in_days(-1))
    assert past.status_code == 422
    missing = om(stack).call(
        "POST", f"/v1/consents/{consent_id}/decision", {"decision": "granted", "reason": "x"}
    )
    assert missing.status_code == 422
    still = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert still["status"] == "pending"


def test_only_om_lists_decides_or_revokes(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    for party in ("gemeente-demo", "politie-demo", "fg-demo"):
        client = logged_in(stack, party)
        # The covenant's FG reads the consent register (issue 19, docs/reports.md) but,
        # like every other non-OM party, may not decide.
        listed = client.call("GET", "/v1/consents").status_code
        assert listed == (200 if party == "fg-demo" else 403)
        assert decide(client, consent_id).status_code == 403
    grant(om(stack), consent_id)
    revoke = gemeente.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": "x"})
    assert revoke.status_code == 403 and is_problem(revoke)
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json()["status"] == "granted"


def test_withheld_until_is_stored_exposed_and_honoured_by_inzage(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    withheld = in_days(90)
    granted = grant(om(stack), consent_id, withheld_until=withheld)
    assert granted["withheld_until"] == withheld
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json()["withheld_until"] == withheld
    past = decide(om(stack), consent_id, withheld_until=in_days(-1))
    assert past.status_code == 409, "already decided"

    ask(gemeente, case_id, [CRIMINAL, "huisvesting"])
    found = stack.runtime.rights_desk.inzage(Bsn(BSN), "portal")
    categories = {d.category for d in found.disclosures}
    assert CRIMINAL not in categories
    assert "huisvesting" in categories
    assert found.withheld_count == 2
