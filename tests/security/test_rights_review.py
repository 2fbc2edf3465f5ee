"""An attacker's review of the rights desk and copies fixes (items 5, 6, 16, 18).

Each test runs on a real stack (gateway, demo sources over HTTP, real keys;
federation: two real gateway processes) and was seen to fail on the code
before the review's fix (commit 0b1afe0).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from gateway.copies.models import CachedCopy
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.rights.models import RightsRequest
from gateway.subjects.bsn import Bsn
from tests.brokering.support import BSN, CASUSOVERLEG, logged_in, open_case, results
from tests.federation import conftest as federation
from tests.federation.regions import PURPOSE
from tests.rights.conftest import csrf_of, person_login
from tests.security.rightscopies_support import SECOND_COVENANT, client_in, two_covenant_stack

SOURCE = "reclassering-demo"
TEAM = ["reclassering-demo", "ggz-demo"]

regions = federation.regions  # the two-region fixture (region A asks region B)


def _file(client: Any, body: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = client.call("POST", "/v1/rights-requests", body)
    return response


def _statuses(response: httpx.Response) -> set[tuple[str, str]]:
    return {(r["status"], r["reason"]) for r in results(response).values()}


# --- the person's own verzet covers every covenant -------------------------------------------


def test_the_persons_own_verzet_restricts_their_cases_in_every_covenant(
    migrated_url: str, tmp_path: Path
) -> None:
    """Promise 1 (a verzet stops disclosure) with promise 11: the person objecting through
    /mijn without naming cases objects to the whole partnership — every case of theirs in
    every covenant on the gateway is denied ``objection``, the request records the covenants
    it covers, and each covenant's privacy officer sees it."""
    with two_covenant_stack(migrated_url, tmp_path) as stack:
        gemeente_b = client_in(stack, "gemeente-demo", SECOND_COVENANT, CASUSOVERLEG)
        opened = gemeente_b.open_case(SECOND_COVENANT, CASUSOVERLEG, BSN, TEAM, "casusoverleg")
        assert opened.status_code == 201, opened.text
        case_b = opened.json()["id"]
        gemeente_a, case_a = open_case(stack, participants=TEAM)  # the latest case: in A

        person = person_login(stack, "persoon-a")
        filed = person.post(
            "/v1/rights-requests",
            json={"type": "verzet", "details": "Ik maak overal bezwaar."},
            headers={"X-Ketenpoort-CSRF": csrf_of(person)},
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["convenant"] == DEMO_COVENANT

        denied = {("denied", "objection")}
        assert _statuses(gemeente_a.query(case_a, ["huisvesting"])) == denied
        assert _statuses(gemeente_b.query(case_b, ["huisvesting"])) == denied
        assert filed.json()["covenants"] == sorted([DEMO_COVENANT, SECOND_COVENANT])

        officer_b = client_in(stack, "fg-demo", SECOND_COVENANT, CASUSOVERLEG)
        listed = officer_b.call("GET", "/v1/rights-requests")
        assert listed.status_code == 200, listed.text
        assert filed.json()["id"] in {r["id"] for r in listed.json()["requests"]}
        read = officer_b.call("GET", f"/v1/rights-requests/{filed.json()['id']}")
        assert read.status_code == 200, read.text

        refused = gemeente_a.call(  # the controller of A, also B's controller here
            "POST",
            f"/v1/rights-requests/{filed.json()['id']}/decision",
            {"decision": "refused", "reason": "Zwaarwegende belangen."},
        )
        assert refused.status_code == 200, refused.text
        assert {
            r["status"] for r in results(gemeente_b.query(case_b, ["huisvesting"])).values()
        } == {"ok"}


def test_a_controller_cannot_lift_the_persons_verzet_in_a_covenant_it_does_not_control(
    migrated_url: str, tmp_path: Path
) -> None:
    """Promise 1 and 11: the person's verzet covering covenants A and B is decided by A's
    controller; its refusal lifts the verzet where it is the controller, never in covenant B
    whose controller is another party (an insider of A cannot reopen B's disclosures)."""

    def other_controller(document: dict[str, Any]) -> None:
        document["controller"] = "ggz-demo"

    with two_covenant_stack(migrated_url, tmp_path, second=other_controller) as stack:
        gemeente_b = client_in(stack, "gemeente-demo", SECOND_COVENANT, CASUSOVERLEG)
        opened = gemeente_b.open_case(SECOND_COVENANT, CASUSOVERLEG, BSN, TEAM, "casusoverleg")
        assert opened.status_code == 201, opened.text
        case_b = opened.json()["id"]
        gemeente_a, case_a = open_case(stack, participants=TEAM)

        person = person_login(stack, "persoon-a")
        filed = person.post(
            "/v1/rights-requests",
            json={"type": "verzet", "details": "Ik maak overal bezwaar."},
            headers={"X-Ketenpoort-CSRF": csrf_of(person)},
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["responsible_party"] == "gemeente-demo"
        refused = gemeente_a.call(
            "POST",
            f"/v1/rights-requests/{filed.json()['id']}/decision",
            {"decision": "refused", "reason": "Zwaarwegende belangen."},
        )
        assert refused.status_code == 200, refused.text

        in_a = results(gemeente_a.query(case_a, ["huisvesting"]))
        assert {r["status"] for r in in_a.values()} == {"ok"}
        assert _statuses(gemeente_b.query(case_b, ["huisvesting"])) == {("denied", "objection")}


def test_a_partners_verzet_still_stops_at_its_own_case(migrated_url: str, tmp_path: Path) -> None:
    """Promise 11, covenant boundaries: widening the person's own verzet must not widen a
    partner's: a participant's verzet for its case in covenant A leaves covenant B alone
    and records only A."""
    with two_covenant_stack(migrated_url, tmp_path) as stack:
        gemeente_b = client_in(stack, "gemeente-demo", SECOND_COVENANT, CASUSOVERLEG)
        opened = gemeente_b.open_case(SECOND_COVENANT, CASUSOVERLEG, BSN, TEAM, "casusoverleg")
        assert opened.status_code == 201, opened.text
        gemeente_a, case_a = open_case(stack, participants=TEAM)
        filed = _file(
            gemeente_a,
            {"type": "verzet", "subject": {"bsn": BSN}, "details": "x", "cases": [case_a]},
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["covenants"] == [DEMO_COVENANT]
        assert _statuses(gemeente_a.query(case_a, ["huisvesting"])) == {("denied", "objection")}
        in_b = results(gemeente_b.query(opened.json()["id"], ["huisvesting"]))
        assert {r["status"] for r in in_b.values()} == {"ok"}


# --- copies that outlive a granted correctie -------------------------------------------------


def _record_ids(stack: Stack) -> list[str]:
    _, found = stack.sources.source(SOURCE).records_about(Bsn(BSN), ["huisvesting"])
    assert found
    return [record.id for record in found]


def _correctie(client: Any, case_id: str, record_ids: list[str]) -> str:
    filed = _file(
        client,
        {
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "Het adres klopt niet.",
            "cases": [case_id],
            "source": SOURCE,
            "records": record_ids,
        },
    )
    assert filed.status_code == 201, filed.text
    return str(filed.json()["id"])


def _grant(stack: Stack, request_id: str) -> None:
    decided = logged_in(stack, SOURCE).call(
        "POST",
        f"/v1/rights-requests/{request_id}/decision",
        {"decision": "granted", "reason": "Verbeterd."},
    )
    assert decided.status_code == 200, decided.text


def _copies(stack: Stack, case_id: str) -> list[str]:
    with stack.runtime.db.session() as session:
        return list(
            session.scalars(select(CachedCopy.record_id).where(CachedCopy.case_id == case_id))
        )


def test_an_answer_fetched_before_a_granted_correctie_is_not_kept_as_copy(stack: Stack) -> None:
    """Promise 8 and AVG art. 16: a query in flight while the source grants a correctie
    carries the old value; it must not be kept as a copy after the decision dropped the
    copies, or the source's next outage serves the corrected record's old value again."""
    gemeente, case_id = open_case(stack)
    request_id = _correctie(gemeente, case_id, _record_ids(stack)[:1])

    source = stack.sources.source(SOURCE)
    source.delay_s = 1.2  # the source answers (with the old value) after the decision
    answered: list[httpx.Response] = []
    in_flight = threading.Thread(
        target=lambda: answered.append(gemeente.query(case_id, ["huisvesting"], [SOURCE]))
    )
    in_flight.start()
    time.sleep(0.4)
    _grant(stack, request_id)
    in_flight.join(timeout=30)
    assert answered and answered[0].status_code == 200, answered
    source.delay_s = 0.0

    assert _copies(stack, case_id) == [], "the old answer was kept after the decision"
    source.fail = True
    after = results(gemeente.query(case_id, ["huisvesting"], [SOURCE]))[(SOURCE, "huisvesting")]
    assert after["status"] == "unavailable", after


def test_a_correctie_naming_a_record_id_in_other_casing_still_marks_and_drops_it(
    stack: Stack,
) -> None:
    """AVG art. 16/18 and promise 8: record ids named in a correctie are compared without
    case. A source that matches ``REC-1`` to ``rec-1`` grants the correctie; the gateway must
    then mark the record contested while pending and drop its copy once granted, not keep
    serving the old value as ``cached_copy``."""
    gemeente, case_id = open_case(stack)
    live = results(gemeente.query(case_id, ["huisvesting"], [SOURCE]))[(SOURCE, "huisvesting")]
    assert live["status"] == "ok" and live["records"]
    record_id = live["records"][0]["id"]
    assert record_id.upper() != record_id
    assert record_id in _copies(stack, case_id)

    request_id = _correctie(gemeente, case_id, [record_id.upper()])
    pending = results(gemeente.query(case_id, ["huisvesting"], [SOURCE]))[(SOURCE, "huisvesting")]
    flags = {r["id"]: r.get("contested", False) for r in pending["records"]}
    assert flags[record_id] is True, flags

    _grant(stack, request_id)
    assert record_id not in _copies(stack, case_id)
    stack.sources.source(SOURCE).fail = True
    after = results(gemeente.query(case_id, ["huisvesting"], [SOURCE]))[(SOURCE, "huisvesting")]
    assert after["status"] == "unavailable", after


# --- a contested record through federation -----------------------------------------------------


def test_a_record_contested_at_the_peer_arrives_marked(regions: federation.Regions) -> None:
    """AVG art. 18(1)(a), API.md §3 (promise 8): a record under a pending correctie at region B
    carries ``"contested": true`` when region A's partner receives it through federation —
    the mark must not be dropped at the border."""
    gemeente_b = regions.partner_b("gemeente-b")
    opened_b = gemeente_b.open_case(
        "zvh-b", PURPOSE, BSN, ["woningcorporatie-demo"], "casusoverleg"
    )
    assert opened_b.status_code == 201, opened_b.text
    filed = gemeente_b.call(
        "POST",
        "/v1/rights-requests",
        {
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "Het adres klopt niet.",
            "cases": [opened_b.json()["id"]],
            "source": "woningcorporatie-demo",
        },
    )
    assert filed.status_code == 201, filed.text

    gemeente_a = regions.partner_a("gemeente-a")
    opened_a = gemeente_a.open_case("zvh-a", PURPOSE, BSN, [], "casusoverleg")
    assert opened_a.status_code == 201, opened_a.text
    answer = results(gemeente_a.query(opened_a.json()["id"], ["huisvesting"], ["zvh-b"]))
    found = answer[("zvh-b", "huisvesting")]
    assert found["status"] == "ok" and found["records"], found
    assert all(record.get("contested") is True for record in found["records"]), found


# --- request ids confirm nothing -------------------------------------------------------------


def test_deciding_a_request_one_may_not_read_answers_like_an_unknown_id(stack: Stack) -> None:
    """Promise 10 and 11: a covenant party that may not read a rights request learns nothing
    by trying to decide it — not that the id exists, not who is responsible: the same 404
    as for an id that does not exist (a reader that is not responsible still gets 403)."""
    gemeente, case_id = open_case(stack)
    filed = _file(
        gemeente,
        {"type": "verzet", "subject": {"bsn": BSN}, "details": "x", "cases": [case_id]},
    )
    assert filed.status_code == 201, filed.text
    outsider = logged_in(stack, "politie-demo")  # not the filer, not responsible, no officer
    decision = {"decision": "refused", "reason": "Ik wil verder."}
    real = outsider.call("POST", f"/v1/rights-requests/{filed.json()['id']}/decision", decision)
    unknown = outsider.call("POST", "/v1/rights-requests/rr-" + "0" * 20 + "/decision", decision)
    assert real.status_code == unknown.status_code == 404, real.text
    strip = {"instance", "trace_id"}
    assert {k: v for k, v in real.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert "gemeente-demo" not in real.text
    with stack.runtime.db.session() as session:
        row = session.get(RightsRequest, filed.json()["id"])
        assert row is not None and row.status == "pending"
