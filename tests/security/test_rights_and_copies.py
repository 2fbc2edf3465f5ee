"""Attacks on the rights desk and on the gateway's copies (security items 5, 6, 8, 16, 18).

Every test runs on a real stack (gateway, demo sources over HTTP, real keys)
and was seen to fail on the code before its fix (commit 62d5261).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.audit.models import AuditDataKey
from gateway.copies.models import CachedCopy
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.rights.models import RightsRequest
from gateway.subjects.bsn import Bsn
from tests.brokering.support import (
    BSN,
    CASUSOVERLEG,
    MOTIVATION,
    change_covenant,
    logged_in,
    open_case,
    results,
)
from tests.consent.support import CRIMINAL, CRIMINAL_SOURCES, ask, grant, om, pending_id
from tests.rights.conftest import csrf_of, person_login
from tests.security.rightscopies_support import (
    SECOND_COVENANT,
    client_in,
    entries,
    retention_run,
    two_covenant_stack,
)

OTHER_BSN = demo_people()[1].bsn.reveal()
SOURCE = "reclassering-demo"
UNKNOWN_CASE = "c-" + "0" * 20


def _file(client: Any, body: dict[str, Any]) -> Any:
    return client.call("POST", "/v1/rights-requests", body)


def _requests(stack: Stack) -> list[RightsRequest]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(RightsRequest)))


def _denials(stack: Stack) -> list[dict[str, Any]]:
    return [e for e in entries(stack, kind="rights") if e["outcome"] == "denied"]


# --- item 5: who may file on the person's behalf, and what a verzet restricts ----------------


def test_a_partner_files_only_for_a_case_it_participates_in(stack: Stack) -> None:
    """Promise 1 and 11: a covenant party outside the case cannot file a verzet (or anything)
    for the person — not by naming no case, not by naming someone else's case."""
    gemeente, case_id = open_case(stack)
    outsider = logged_in(stack, "verslavingszorg-demo")  # in the covenant, not in the case
    no_case = _file(outsider, {"type": "verzet", "subject": {"bsn": BSN}, "details": "x"})
    assert no_case.status_code == 422, no_case.text
    named = _file(
        outsider,
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "x", "cases": [case_id]},
    )
    assert named.status_code == 422, named.text
    participant_without_case = _file(
        gemeente, {"type": "verzet", "subject": {"bsn": BSN}, "details": "x"}
    )
    assert participant_without_case.status_code == 422
    assert _requests(stack) == []
    after = results(gemeente.query(case_id, ["huisvesting"]))
    assert {r["status"] for r in after.values()} == {"ok"}, "no verzet may have been planted"


def test_a_verzet_restricts_only_within_the_covenant_it_was_filed_under(
    migrated_url: str, tmp_path: Path
) -> None:
    """Promise 11, covenant boundaries: a verzet filed under covenant A (here by the person,
    naming their case in A) denies queries in A, never in covenant B on the same gateway.
    (The person's verzet naming no case covers every covenant: test_rights_review.py.)"""
    with two_covenant_stack(migrated_url, tmp_path) as stack:
        team = ["reclassering-demo", "ggz-demo"]
        gemeente_b = client_in(stack, "gemeente-demo", SECOND_COVENANT, CASUSOVERLEG)
        opened = gemeente_b.open_case(SECOND_COVENANT, CASUSOVERLEG, BSN, team, "casusoverleg")
        assert opened.status_code == 201, opened.text
        case_b = opened.json()["id"]
        gemeente_a, case_a = open_case(stack, participants=team)  # the person's latest case

        person = person_login(stack, "persoon-a")
        headers = {"X-Ketenpoort-CSRF": csrf_of(person)}
        body = {"type": "verzet", "details": "Ik maak bezwaar.", "cases": [case_a]}
        filed = person.post("/v1/rights-requests", json=body, headers=headers)
        assert filed.status_code == 201, filed.text
        assert filed.json()["convenant"] == DEMO_COVENANT

        in_a = results(gemeente_a.query(case_a, ["huisvesting"]))
        assert {(r["status"], r["reason"]) for r in in_a.values()} == {("denied", "objection")}
        in_b = results(gemeente_b.query(case_b, ["huisvesting"]))
        assert {r["status"] for r in in_b.values()} == {"ok"}, in_b


def test_a_partner_cannot_name_a_source_outside_the_case(stack: Stack) -> None:
    """Promise 10 (the BSN goes only where needed): a filing forwards the BSN only to a
    source of the case; naming another covenant party's source is refused, nothing sent."""
    gemeente, case_id = open_case(stack)  # dji-demo has a source but is no participant
    for source in ("dji-demo", "om-demo"):
        response = _file(
            gemeente,
            {
                "type": "correctie",
                "subject": {"bsn": BSN},
                "details": "fout",
                "cases": [case_id],
                "source": source,
            },
        )
        assert response.status_code == 422, (source, response.text)
    assert stack.sources.source("dji-demo").rights_requests == []
    assert _requests(stack) == []


def test_partner_written_text_is_marked_as_such_in_mijn(stack: Stack) -> None:
    """Promise 9 (the person sees their rights truthfully): text a partner wrote in the
    person's name shows in /mijn as "Ingediend door <partij> namens u", not as theirs."""
    gemeente, case_id = open_case(stack)
    filed = _file(
        gemeente,
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "Geplant", "cases": [case_id]},
    )
    assert filed.status_code == 201, filed.text
    person = person_login(stack, "persoon-a")
    page = person.get(f"/mijn/verzoeken/{filed.json()['id']}")
    assert page.status_code == 200
    assert "Ingediend door Gemeente Demostad" in page.text
    assert "namens u" in page.text
    assert "Uw uitleg" not in page.text
    overview = person.get("/mijn")
    assert "Ingediend door Gemeente Demostad" in overview.text


# --- item 6 and 8: no BSN <-> case oracle, every refusal logged ------------------------------


def test_filing_answers_alike_for_wrong_bsn_unknown_case_and_foreign_case(stack: Stack) -> None:
    """Promise 10, no BSN oracle: naming a case with a wrong BSN, an unknown case id, or a case
    the caller does not participate in all get the same answer; each refusal is logged with
    its reason and without the BSN."""
    _, case_id = open_case(stack)
    _, foreign_case = open_case(stack, participants=["politie-demo"])
    ggz = logged_in(stack, "ggz-demo")  # participant of case_id only
    attempts = {
        "subject_mismatch": (OTHER_BSN, case_id),
        "case_unknown": (BSN, UNKNOWN_CASE),
        "not_participant": (BSN, foreign_case),
    }
    answers = []
    for bsn, case in attempts.values():
        response = _file(
            ggz, {"type": "verzet", "subject": {"bsn": bsn}, "details": "x", "cases": [case]}
        )
        answers.append((response.status_code, response.json()))
    assert answers[0][0] == 422
    assert all(answer == answers[0] for answer in answers), answers
    assert _requests(stack) == []

    right = _file(
        ggz, {"type": "verzet", "subject": {"bsn": BSN}, "details": "x", "cases": [case_id]}
    )
    assert right.status_code == 201, right.text

    denied = _denials(stack)
    assert sorted(e["reason"] for e in denied) == sorted(attempts)
    for entry in denied:
        assert entry["party"] == "ggz-demo" and entry["details"]["action"] == "file"
        assert BSN not in str(entry) and OTHER_BSN not in str(entry)
        assert entry["subject"] is None


def test_other_rights_refusals_are_audit_entries(stack: Stack) -> None:
    """Promise 6 (every decision is logged): a filing without a subject or with an invalid
    BSN, and a decision by a party that is not responsible, leave an audit entry."""
    gemeente, case_id = open_case(stack)
    missing = _file(gemeente, {"type": "inzage", "details": "x", "cases": [case_id]})
    assert missing.status_code == 422
    invalid = _file(
        gemeente,
        {"type": "inzage", "subject": {"bsn": "123456789"}, "details": "x", "cases": [case_id]},
    )
    assert invalid.status_code == 422
    filed = _file(
        gemeente,
        {"type": "inzage", "subject": {"bsn": BSN}, "details": "x", "cases": [case_id]},
    )
    assert filed.status_code == 201, filed.text
    path = f"/v1/rights-requests/{filed.json()['id']}/decision"
    wrong = logged_in(stack, "fg-demo").call(  # may read it, may not decide it
        "POST", path, {"decision": "granted", "reason": "ik"}
    )
    assert wrong.status_code == 403
    reasons = {(e["details"]["action"], e["reason"]) for e in _denials(stack)}
    assert {("file", "subject_missing"), ("file", "invalid_bsn")} <= reasons
    assert ("decide", "not-responsible") in reasons
    assert all("123456789" not in str(e) for e in _denials(stack))


# --- item 16: a granted correctie invalidates copies; pending ones mark records -----------------


def _huisvesting(client: Any, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = results(client.query(case_id, ["huisvesting"], [SOURCE]))[
        (SOURCE, "huisvesting")
    ]
    return found


def _file_correctie(client: Any, case_id: str, record_id: str) -> str:
    filed = _file(
        client,
        {
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "Het adres klopt niet.",
            "cases": [case_id],
            "source": SOURCE,
            "records": [record_id],
        },
    )
    assert filed.status_code == 201, filed.text
    return str(filed.json()["id"])


def test_a_pending_correctie_marks_records_contested_live_and_from_the_copy(
    stack: Stack,
) -> None:
    """AVG art. 18(1)(a), API.md §3: while a correctie is pending, the records it contests
    carry ``"contested": true`` in a live answer and in one served from the gateway's copy;
    other records do not."""
    gemeente, case_id = open_case(stack)
    live = _huisvesting(gemeente, case_id)
    assert live["status"] == "ok" and live["records"]
    assert all("contested" not in record for record in live["records"])
    record_id = live["records"][0]["id"]
    _file_correctie(gemeente, case_id, record_id)

    pending = _huisvesting(gemeente, case_id)
    flags = {r["id"]: r.get("contested", False) for r in pending["records"]}
    assert flags[record_id] is True
    assert all(not flag for rid, flag in flags.items() if rid != record_id)

    stack.sources.source(SOURCE).fail = True
    cached = _huisvesting(gemeente, case_id)
    assert (cached["status"], cached["reason"]) == ("ok", "cached_copy")
    assert {r["id"]: r.get("contested", False) for r in cached["records"]}[record_id] is True


def test_a_consent_revoked_during_the_query_under_withhold_tells_nothing_contested(
    stack: Stack,
) -> None:
    """``rights.contested: withhold`` must not outrank a consent revoked while the sources
    answered: the recipient then gets ``consent_revoked`` only — not ``contested`` with a
    count, which would tell it that the source holds records about the person that a
    correctie contests (review branch: the contested step ran before the consent recheck)."""
    gemeente, case_id = open_case(stack)
    ovj = om(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(ovj, consent_id)
    change_covenant(stack, lambda document: document["rights"].update(contested="withhold"))
    for source in CRIMINAL_SOURCES:
        body = {
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "Alles van deze bron klopt niet.",
            "cases": [case_id],
            "source": source,
        }
        assert _file(gemeente, body).status_code == 201
        stack.sources.source(source).delay_s = 1.2
    answer: dict[str, Any] = {}
    query = threading.Thread(
        target=lambda: answer.setdefault(
            "r", gemeente.query(case_id, [CRIMINAL], motivation=MOTIVATION)
        )
    )
    query.start()
    time.sleep(0.4)
    revoked = ovj.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": "nieuwe feiten"})
    assert revoked.status_code == 200, revoked.text
    query.join(timeout=10)
    response = answer["r"]
    assert response.status_code == 200, response.text
    for result in response.json()["results"]:
        assert (result["status"], result["reason"]) == ("denied", "consent_revoked"), result
        assert "contested_withheld" not in result and "records" not in result


def test_a_covenant_that_withholds_contested_records_lets_none_leave(stack: Stack) -> None:
    """AVG art. 18(1)(a), covenant ``rights.contested: withhold``: while a correctie is
    pending, the records it contests do not leave at all — not live, not from the copy.
    The result says how many were left out; with nothing left it is ``denied``/``contested``
    (never ``not_found``), and the log names that reason. Under ``mark`` the same records
    leave marked (the default, checked first)."""
    gemeente, case_id = open_case(stack)
    live = _huisvesting(gemeente, case_id)
    assert live["status"] == "ok" and live["records"]
    record_ids = [record["id"] for record in live["records"]]
    _file_correctie(gemeente, case_id, record_ids[0])
    marked = _huisvesting(gemeente, case_id)
    assert {r["id"]: r.get("contested", False) for r in marked["records"]}[record_ids[0]]

    change_covenant(stack, lambda document: document["rights"].update(contested="withhold"))
    withheld = _huisvesting(gemeente, case_id)
    left = [record["id"] for record in withheld.get("records") or []]
    assert record_ids[0] not in left
    assert withheld["contested_withheld"] == 1
    if len(record_ids) == 1:
        assert (withheld["status"], withheld["reason"]) == ("denied", "contested")
    else:
        assert withheld["status"] == "ok" and sorted(left) == sorted(record_ids[1:])
        assert all("contested" not in record for record in withheld["records"])

    # The whole source contested (a correctie naming no record): nothing leaves, and a
    # source that is down cannot bring the records back from the gateway's copy.
    filed = _file(
        gemeente,
        {
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "Alles van deze bron klopt niet.",
            "cases": [case_id],
            "source": SOURCE,
        },
    )
    assert filed.status_code == 201, filed.text
    for down in (False, True):
        stack.sources.source(SOURCE).fail = down
        answer = _huisvesting(gemeente, case_id)
        assert (answer["status"], answer["reason"]) == ("denied", "contested"), answer
        assert "records" not in answer and answer["contested_withheld"] == len(record_ids)
    stack.sources.source(SOURCE).fail = False
    denials = [
        e
        for e in entries(stack, kind="decision")
        if e["case"] == case_id and e["outcome"] == "denied"
    ]
    assert any("contested" in json.dumps(e) for e in denials), denials


def test_a_granted_correctie_never_comes_back_from_the_copy(stack: Stack) -> None:
    """Promise 8 and AVG art. 16: once the source granted a correctie and then went down, the
    old value is not served as ``cached_copy``; the copy went with the decision (logged)."""
    gemeente, case_id = open_case(stack)
    live = _huisvesting(gemeente, case_id)
    record_id = live["records"][0]["id"]
    request_id = _file_correctie(gemeente, case_id, record_id)

    decided = logged_in(stack, SOURCE).call(
        "POST",
        f"/v1/rights-requests/{request_id}/decision",
        {"decision": "granted", "reason": "Adres verbeterd."},
    )
    assert decided.status_code == 200, decided.text
    with stack.runtime.db.session() as session:
        kept = list(
            session.scalars(select(CachedCopy.record_id).where(CachedCopy.case_id == case_id))
        )
    assert record_id not in kept

    stack.sources.source(SOURCE).fail = True
    after = _huisvesting(gemeente, case_id)
    assert after["status"] == "unavailable", "the corrected record came back from the copy"
    assert "records" not in after
    dropped = [e for e in entries(stack, kind="deletion") if e["outcome"] == "correctie_granted"]
    assert len(dropped) == 1 and dropped[0]["records"] >= 1
    assert record_id not in str(dropped[0])


# --- item 18: no residue after erasure -------------------------------------------------------


def test_a_portal_visit_after_erasure_leaves_no_key_that_outlives_retention(stack: Stack) -> None:
    """Promise 7, erasure is complete: a /mijn visit after the person was erased writes its
    entries under a new key of theirs; the retention job shreds that key after the term, so
    nothing stays readable or findable under their pseudonym."""
    gemeente, case_id = open_case(stack)
    results(gemeente.query(case_id, ["huisvesting"]))
    closed = gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": "doelen_bereikt"})
    assert closed.status_code in (200, 204), closed.text
    now = datetime.now(UTC)
    erased = retention_run(stack, now + timedelta(days=2 * 366 + 2))
    assert erased.rule("case_after_close").counts["subjects_erased"] == 1

    pseudonym = stack.runtime.pseudonymizer.pseudonym(Bsn(BSN))
    assert entries(stack, subject_pseudonym=pseudonym) == []
    person_login(stack, "persoon-a").get("/mijn")  # the visit, logged under a new key
    fresh = entries(stack, subject_pseudonym=pseudonym)
    assert fresh and {e["outcome"] for e in fresh} == {"inzage_shown"}

    early = retention_run(stack, datetime.now(UTC) + timedelta(days=1))
    assert len(entries(stack, subject_pseudonym=pseudonym)) == len(fresh), "shredded too early"
    assert sum(r.rows for r in early.rules) == 0

    retention_run(stack, datetime.now(UTC) + timedelta(days=2 * 366 + 2))
    assert entries(stack, subject_pseudonym=pseudonym) == []
    with stack.runtime.db.session() as session:
        live = session.scalars(
            select(AuditDataKey.key_id).where(
                AuditDataKey.subject_pseudonym == pseudonym, AuditDataKey.wrapped.is_not(None)
            )
        ).all()
    assert live == []
    seqs = {e["seq"] for e in fresh}
    assert {e["subject"] for e in entries(stack) if e["seq"] in seqs} == {"erased"}
