"""The case API: who opens, who reads, who changes; the BSN only as a pseudonym at rest."""

from __future__ import annotations

from sqlalchemy import inspect, select, table, text

from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.brokering.support import (
    BSN,
    CASUSOVERLEG,
    audit_entries,
    is_problem,
    logged_in,
    open_case,
    results,
)

NOT_ELEVEN_PROOF = "999990008"


def test_only_the_case_opening_role_opens(stack: Stack) -> None:
    politie = logged_in(stack, "politie-demo")
    refused = politie.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, ["gemeente-demo"], "triage")
    assert refused.status_code == 403
    assert is_problem(refused)
    assert BSN not in refused.text


def test_invalid_bsn_is_refused_without_echoing_it(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    for bad in (NOT_ELEVEN_PROOF, "12345678", "99999000a", "9999900071"):
        refused = gemeente.open_case(DEMO_COVENANT, CASUSOVERLEG, bad, [], "triage")
        assert refused.status_code == 422, (bad, refused.text)
        assert is_problem(refused)
        assert bad not in refused.text


def test_case_lifecycle_for_participants_only(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, phase="triage", participants=["politie-demo"])
    read = gemeente.call("GET", f"/v1/cases/{case_id}")
    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "open"
    assert body["phase"] == "triage"
    assert set(body["participants"]) == {"gemeente-demo", "politie-demo"}
    assert BSN not in read.text

    ggz = logged_in(stack, "ggz-demo")
    outsider = ggz.call("GET", f"/v1/cases/{case_id}")
    assert outsider.status_code == 403
    assert is_problem(outsider)
    assert outsider.json().get("reason") == "not_participant"

    politie = logged_in(stack, "politie-demo")
    assert politie.call("GET", f"/v1/cases/{case_id}").status_code == 200
    assert politie.call("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"}).status_code == 403
    assert politie.call("POST", f"/v1/cases/{case_id}/close").status_code == 403

    added = gemeente.call("POST", f"/v1/cases/{case_id}/participants", {"party": "ggz-demo"})
    assert added.status_code == 200, added.text
    assert "ggz-demo" in added.json()["participants"]
    assert ggz.call("GET", f"/v1/cases/{case_id}").status_code == 200
    stranger = gemeente.call("POST", f"/v1/cases/{case_id}/participants", {"party": "nobody"})
    assert stranger.status_code == 422

    moved = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "casusoverleg"})
    assert moved.status_code == 200
    assert moved.json()["phase"] == "casusoverleg"
    assert gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "klaar"}).status_code == 422

    closed = gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": "doelen_bereikt"})
    assert closed.status_code == 200
    assert closed.json()["closed_at"]
    again = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"})
    assert again.status_code == 409
    found = results(gemeente.query(case_id, ["huisvesting"]))
    assert {r["reason"] for r in found.values()} == {"case_closed"}

    outcomes = [e["outcome"] for e in audit_entries(stack, case_id) if e["kind"] == "case"]
    assert outcomes == ["opened", "participant_added", "phase_changed", "closed"]


def test_an_unknown_case_is_not_found(stack: Stack) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    missing = gemeente.call("GET", "/v1/cases/c-00000000000000000000")
    assert missing.status_code == 404
    assert is_problem(missing)


def test_the_database_never_holds_the_bsn_in_clear(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    results(gemeente.query(case_id, ["huisvesting", "psychisch_welzijn", "justitiele_gegevens"]))
    engine = stack.runtime.db.engine
    names = inspect(engine).get_table_names()
    assert "cases" in names and "audit_entries" in names
    checked = 0
    with engine.connect() as connection:
        for name in names:
            for row in connection.execute(select(text("*")).select_from(table(name))):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        blob = bytes(value)
                        assert BSN.encode() not in blob, name
                        text_value = blob.decode("latin-1")
                    else:
                        text_value = str(value)
                    assert BSN not in text_value, f"BSN in clear in table {name}"
                    checked += 1
    assert checked > 50
