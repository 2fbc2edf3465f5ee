"""Cases bound to the token, refusals logged, the log not floodable, NUL never a 500.

Every test runs the real stack (gateway, demo sources over HTTP, real partner
keys) and reads the audit log from the gateway's own database.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.config import SqlSource
from gateway.audit.models import AuditDataKey, AuditEntry
from gateway.cases.service import Actor
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.policy.models import Party
from gateway.problems import Forbidden
from tests.brokering.support import (
    BSN,
    CASUSOVERLEG,
    MOTIVATION,
    TRIAGE,
    is_problem,
    logged_in,
    open_case,
    results,
)

OTHER_BSN = demo_people()[1].bsn.reveal()
SOURCE = "reclassering-demo"
MAX_PUSHED_DELETIONS = 1_000  # connectors.source_api.MAX_PUSHED_DELETIONS, the documented bound


def _head(stack: Stack) -> int:
    with stack.runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _entries_since(stack: Stack, seq: int) -> list[dict[str, Any]]:
    """The stored entries (as hashed) from ``seq`` on, oldest first."""
    with stack.runtime.db.session() as session:
        bodies = session.scalars(
            select(AuditEntry.body).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
        ).all()
    return [json.loads(body) for body in bodies]


def _mine(stack: Stack, seq: int, party: str) -> list[dict[str, Any]]:
    return [e for e in _entries_since(stack, seq) if e["party"] == party and e["kind"] != "key"]


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert is_problem(response), response.headers.get("content-type")
    body: dict[str, Any] = response.json()
    return body


# --- item 8: every refused case call and query leaves an entry -------------------------


def test_every_refused_case_call_leaves_a_denial_entry_with_its_reason(stack: Stack) -> None:
    """Promise 5 (everything logged) and 2 (need-to-know): a non-participant reading or
    changing a case, and a participant without the case-opening role changing it, are
    refused with 403 and each refusal is one audit entry with a machine-readable reason."""
    _, case_id = open_case(stack, participants=["politie-demo"])
    outsider = logged_in(stack, "ggz-demo")
    calls: list[tuple[str, str, Any, str]] = [
        ("GET", f"/v1/cases/{case_id}", None, "get"),
        ("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"}, "set_phase"),
        ("POST", f"/v1/cases/{case_id}/close", None, "close"),
        ("POST", f"/v1/cases/{case_id}/participants", {"party": "ggz-demo"}, "add_participant"),
    ]
    for method, path, body, action in calls:
        start = _head(stack)
        refused = _problem(outsider.call(method, path, body), 403)
        assert refused["reason"] == "not_participant"
        (entry,) = _mine(stack, start, "ggz-demo")
        assert (entry["kind"], entry["outcome"], entry["reason"]) == (
            "decision",
            "denied",
            "not_participant",
        )
        assert entry["case"] == case_id and entry["details"]["action"] == action
        assert entry["purpose"] == CASUSOVERLEG and entry["employee"] == "t.tester"

    participant = logged_in(stack, "politie-demo")
    for method, path, body, action in calls[1:]:
        start = _head(stack)
        refused = _problem(participant.call(method, path, body), 403)
        assert refused["reason"] == "not_case_opener"
        (entry,) = _mine(stack, start, "politie-demo")
        assert (entry["outcome"], entry["reason"], entry["details"]["action"]) == (
            "denied",
            "not_case_opener",
            action,
        )

    start = _head(stack)
    opened = participant.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, [], "signalering")
    assert _problem(opened, 403)["reason"] == "not_case_opener"
    (entry,) = _mine(stack, start, "politie-demo")
    assert (entry["reason"], entry["details"]["action"], entry["case"]) == (
        "not_case_opener",
        "open",
        None,
    )
    assert entry["subject"] is None and BSN not in json.dumps(entry)


def test_a_refused_query_leaves_an_entry(stack: Stack) -> None:
    """Promise 5: a query on a case that does not exist (probing case ids) is refused and
    logged, like a refused case call."""
    gemeente = logged_in(stack, "gemeente-demo")
    missing = "c-" + "0" * 20
    start = _head(stack)
    _problem(gemeente.query(missing, ["huisvesting"]), 404)
    (entry,) = _mine(stack, start, "gemeente-demo")
    assert (entry["outcome"], entry["reason"], entry["case"], entry["details"]["action"]) == (
        "denied",
        "not_found",
        missing,
        "query",
    )


# --- item 9: log flooding -----------------------------------------------------------------


def test_unknown_categories_and_sources_are_refused_up_front_with_one_entry(
    stack: Stack,
) -> None:
    """Promise 5 without flooding: 50 made-up categories times 50 made-up sources used to
    be 2,500 decisions and 2,500 entries; now one 422 naming the unknown ids, no source
    asked, one log entry."""
    gemeente, case_id = open_case(stack)
    categories = [f"verzonnen{i}" for i in range(49)] + ["huisvesting"]
    sources = [f"nergens{i}-demo" for i in range(49)] + ["gemeente-demo"]
    start = _head(stack)
    refused = _problem(gemeente.query(case_id, categories, sources), 422)
    assert refused["type"] == "urn:ketenpoort:problem:unknown-ids"
    assert refused["unknown_categories"] == sorted(categories[:49])
    assert refused["unknown_sources"] == sorted(sources[:49])
    assert stack.sources.source("gemeente-demo").last_traceparent is None, "a source was asked"
    (entry,) = _mine(stack, start, "gemeente-demo")
    assert (entry["outcome"], entry["reason"], entry["case"]) == (
        "denied",
        "unknown_source",
        case_id,
    )
    assert entry["details"]["unknown_categories"].split(",") == sorted(categories[:49])

    only_categories = _problem(gemeente.query(case_id, ["verzonnen", "huisvesting"]), 422)
    assert only_categories["unknown_categories"] == ["verzonnen"]
    assert "unknown_sources" not in only_categories
    assert only_categories["reason"] == "unknown_category"


def test_a_non_participants_query_is_one_entry_but_one_result_per_pair(stack: Stack) -> None:
    """Promise 5 without flooding: a non-participant asking every category of every party
    gets one ``denied`` result per (source, category), and the log one entry that names
    every denied pair and its reason."""
    _, case_id = open_case(stack, participants=["politie-demo"])
    covenant = stack.runtime.policy.current.covenants[DEMO_COVENANT]
    categories = sorted(covenant.categories)
    sources = sorted(covenant.parties)
    outsider = logged_in(stack, "ggz-demo")
    start = _head(stack)
    found = results(outsider.query(case_id, categories, sources, motivation=MOTIVATION))
    assert len(found) == len(categories) * len(sources)
    assert {(r["status"], r["reason"]) for r in found.values()} == {("denied", "not_participant")}
    (entry,) = _mine(stack, start, "ggz-demo")
    assert (entry["kind"], entry["outcome"], entry["reason"]) == (
        "decision",
        "denied",
        "not_participant",
    )
    details = entry["details"]
    assert details["denied_pairs"] == len(found)
    for source, category in found:
        assert details[f"{source}/{category}"] == "not_participant"


def test_mixed_answers_keep_per_source_entries_and_one_denial_entry(stack: Stack) -> None:
    """Promise 5: permitted results keep their own entry each (disclosures stay countable
    per source); the denials of the same query share one entry with their reasons."""
    gemeente, case_id = open_case(stack)
    start = _head(stack)
    found = results(
        gemeente.query(
            case_id,
            ["huisvesting", "detentie"],
            ["gemeente-demo", "politie-demo"],
            motivation=MOTIVATION,
        )
    )
    denied = {key: r["reason"] for key, r in found.items() if r["status"] == "denied"}
    others = {key for key, r in found.items() if r["status"] != "denied"}
    assert denied and others
    logged = [
        e
        for e in _mine(stack, start, "gemeente-demo")
        if e["case"] == case_id and e["kind"] in ("decision", "disclosure")
    ]
    per_result = [e for e in logged if e["details"].get("denied_pairs") is None]
    assert {(e["source"], e["category"]) for e in per_result} == others
    (denial,) = [e for e in logged if e["details"].get("denied_pairs") is not None]
    assert {k: v for k, v in denial["details"].items() if "/" in k} == {
        f"{s}/{c}": reason for (s, c), reason in denied.items()
    }


def _deletion(record_id: str, category: str = "huisvesting") -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject": {"bsn": BSN},
        "category": category,
        "deleted_at": "2027-01-01T00:00:00Z",
    }


def _push(client: Any, body: object) -> httpx.Response:
    response: httpx.Response = client.call("POST", f"/v1/sources/{SOURCE}/deletions", body)
    return response


def test_pushed_deletions_name_catalogue_categories_only(stack: Stack) -> None:
    """Promise 5 without flooding: a pushed deletion batch with free-text categories is
    refused (422, positions only, nothing echoed) and writes no entry."""
    source = logged_in(stack, SOURCE)
    start = _head(stack)
    free_text = "x" * 150 + BSN
    response = _push(source, {"events": [_deletion("r-1"), _deletion("r-2", free_text)]})
    refused = _problem(response, 422)
    assert refused["type"] == "urn:ketenpoort:problem:unknown-category"
    assert refused["events"] == [1]
    assert BSN not in response.text and free_text not in response.text
    assert _mine(stack, start, SOURCE) == []
    accepted = _push(source, {"events": [_deletion("r-1"), _deletion("r-2", "detentie")]})
    assert accepted.status_code == 200, accepted.text
    # No copies held: the two events are one entry (review-auth: no log flood by made-up ids).
    (entry,) = _mine(stack, start, SOURCE)
    assert entry["details"]["events"] == 2 and entry["records"] == 0


def test_a_pushed_deletion_batch_is_bounded(stack: Stack) -> None:
    """Promise 5 without flooding: one pushed batch can no longer write 10,000 entries;
    above the bound it is refused whole with its own reason and writes nothing."""
    source = logged_in(stack, SOURCE)
    start = _head(stack)
    too_many = [_deletion(f"r-{i}") for i in range(MAX_PUSHED_DELETIONS + 1)]
    refused = _problem(_push(source, {"events": too_many}), 422)
    assert (refused["reason"], refused["max_events"]) == ("batch_too_large", MAX_PUSHED_DELETIONS)
    assert _head(stack) == start


# --- item 10: case calls bound to the token's covenant and purpose --------------------------


def test_case_calls_are_bound_to_the_tokens_covenant_and_purpose(stack: Stack) -> None:
    """Promise 1 (purpose limitation, doelbinding): a token for purpose P cannot read or
    change a case of purpose Q, nor open one under another covenant or purpose than its
    own; each refusal names the reason and is logged under the token's purpose."""
    _, case_id = open_case(stack, purpose=CASUSOVERLEG, participants=["politie-demo"])
    triage = logged_in(stack, "gemeente-demo", TRIAGE)
    calls: list[tuple[str, str, Any]] = [
        ("GET", f"/v1/cases/{case_id}", None),
        ("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"}),
        ("POST", f"/v1/cases/{case_id}/participants", {"party": "ggz-demo"}),
        ("POST", f"/v1/cases/{case_id}/close", None),
        ("POST", f"/v1/cases/{case_id}/known-elsewhere", None),
    ]
    for method, path, body in calls:
        start = _head(stack)
        refused = _problem(triage.call(method, path, body), 403)
        assert refused["reason"] == "purpose_mismatch", (method, path)
        (entry,) = _mine(stack, start, "gemeente-demo")
        assert (entry["outcome"], entry["reason"], entry["purpose"]) == (
            "denied",
            "purpose_mismatch",
            TRIAGE,
        )
    owner = logged_in(stack, "gemeente-demo", CASUSOVERLEG)
    unchanged = owner.call("GET", f"/v1/cases/{case_id}").json()
    assert (unchanged["phase"], unchanged["status"]) == ("casusoverleg", "open")
    assert "ggz-demo" not in unchanged["participants"]

    # A token of another covenant (this stack serves one, so through the real service):
    elsewhere = Actor("gemeente-demo", "t.tester", "zvh-elders", CASUSOVERLEG)
    cases = stack.runtime.brokering.cases
    with stack.runtime.db.session() as session:
        for attempt in (
            lambda: cases.get(session, elsewhere, case_id),
            lambda: cases.set_phase(session, elsewhere, case_id, "nazorg"),
            lambda: cases.close(session, elsewhere, case_id),
        ):
            with pytest.raises(Forbidden) as refused_here:
                attempt()
            assert refused_here.value.extensions["reason"] == "convenant_mismatch"

    wrong_purpose = triage.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, [], "signalering")
    assert _problem(wrong_purpose, 403)["reason"] == "purpose_mismatch"
    wrong_covenant = triage.open_case("zvh-elders", TRIAGE, BSN, [], "signalering")
    assert _problem(wrong_covenant, 403)["reason"] == "convenant_mismatch"

    start = _head(stack)
    moved = owner.call("PATCH", f"/v1/cases/{case_id}", {"phase": "nazorg"})
    assert moved.status_code == 200, moved.text
    (entry,) = _mine(stack, start, "gemeente-demo")
    assert (entry["kind"], entry["purpose"], entry["convenant"]) == (
        "case",
        CASUSOVERLEG,
        DEMO_COVENANT,
    )


# --- item 13: NUL in any string field is a 422, never a 500 ---------------------------------

NUL = "a\u0000b"


def _nul_bodies(case_id: str) -> list[tuple[str, str, Any]]:
    open_body = {
        "convenant": DEMO_COVENANT,
        "purpose": CASUSOVERLEG,
        "subject": {"bsn": OTHER_BSN},
        "participants": ["politie-demo"],
        "phase": "signalering",
    }
    bodies: list[tuple[str, str, Any]] = []
    for key, value in [
        ("convenant", NUL),
        ("purpose", NUL),
        ("subject", {"bsn": "99999\u00000019"}),
        ("participants", [NUL]),
        ("phase", NUL),
    ]:
        bodies.append(("POST", "/v1/cases", {**open_body, key: value}))
    bodies += [
        ("POST", f"/v1/cases/{case_id}/participants", {"party": NUL}),
        ("PATCH", f"/v1/cases/{case_id}", {"phase": NUL}),
        ("POST", f"/v1/cases/{case_id}/queries", {"categories": [NUL]}),
        ("POST", f"/v1/cases/{case_id}/queries", {"categories": ["huisvesting"], "sources": [NUL]}),
    ]
    event = _deletion("r-1")
    for key, value in [
        ("record_id", NUL),
        ("category", NUL),
        ("deleted_at", "2027-01-01T00:00:00Z\u0000"),
        ("subject", {"bsn": NUL}),
    ]:
        bodies.append(
            ("POST", f"/v1/sources/{SOURCE}/deletions", {"events": [{**event, key: value}]})
        )
    rights = {"type": "inzage", "subject": {"bsn": BSN}, "details": "inzage graag"}
    for key, value in [
        ("details", NUL),
        ("type", NUL),
        ("cases", [case_id + "\u0000"]),
        ("records", [NUL]),
        ("source", NUL),
        ("subject", {"bsn": NUL}),
    ]:
        bodies.append(("POST", "/v1/rights-requests", {**rights, key: value}))
    bodies.append(
        (
            "POST",
            "/v1/rights-requests/rr-" + "0" * 20 + "/decision",
            {"decision": "refused", "reason": NUL},
        )
    )
    consent = "/v1/consents/oc-" + "0" * 20
    bodies += [
        ("POST", consent + "/decision", {"decision": "refused", "reason": NUL}),
        (
            "POST",
            consent + "/decision",
            {"decision": "granted", "reason": "ok", "categories": [NUL]},
        ),
        ("POST", consent + "/revoke", {"reason": NUL}),
        ("POST", "/v1/federation/known", {"subject": {"bsn": OTHER_BSN}, "peer_case": NUL}),
        (
            "POST",
            "/v1/federation/cases",
            {"subject": {"bsn": OTHER_BSN}, "phase": "triage", "peer_case": NUL},
        ),
    ]
    return bodies


def test_nul_in_any_string_field_is_a_422_never_a_500(stack: Stack) -> None:
    """Never a 500 for any input (API.md): a NUL byte in any JSON string of the cases,
    queries, sources, rights, consent and federation APIs is refused with a 422 problem
    before it reaches the database (PostgreSQL text cannot hold NUL; a NUL record id
    used to be a 500)."""
    gemeente, case_id = open_case(stack)
    source = logged_in(stack, SOURCE)
    ovj = logged_in(stack, "om-demo")
    for method, path, body in _nul_bodies(case_id):
        client = source if "/v1/sources/" in path else gemeente
        client = ovj if "/v1/consents/" in path else client
        response = client.call(method, path, body)
        assert response.status_code == 422, (path, body, response.status_code, response.text)
        assert is_problem(response), path
        assert "\u0000" not in response.text and "\\u0000" not in response.text


# --- info items ---------------------------------------------------------------------------


def test_a_sql_source_url_never_shows_its_password_in_a_repr() -> None:
    """Promise 6 (no secrets in logs): a covenant's SQL source URL carries a database
    password; the parsed covenant's repr (what logs and tracebacks print) omits it."""
    source = SqlSource(
        type="sql",
        url="postgresql://lezer:Geheim-wachtwoord@db.example/bron",
        queries={"huisvesting": "SELECT id, updated FROM t WHERE bsn = :bsn"},
    )
    party = Party(id="bron-demo", name="Bron", roles=("gemeente",), source=source)
    for text in (repr(source), repr(party), str(party)):
        assert "Geheim-wachtwoord" not in text


def test_a_non_peer_known_lookup_creates_no_subject_key(stack: Stack) -> None:
    """Promise 7 (erasable subject keys) and 2: a party that is no peer gateway asking
    "is this person known here?" is refused and logged, and no vault key is made for the
    BSN it named."""
    gemeente = logged_in(stack, "gemeente-demo")

    def keys() -> int:
        with stack.runtime.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(AuditDataKey)) or 0)

    before = keys()
    start = _head(stack)
    refused = gemeente.call("POST", "/v1/federation/known", {"subject": {"bsn": OTHER_BSN}})
    assert _problem(refused, 403)["reason"] == "not_federation_party"
    assert keys() == before
    (entry,) = _mine(stack, start, "gemeente-demo")
    assert (entry["outcome"], entry["reason"], entry["subject"]) == (
        "denied",
        "not_federation_party",
        None,
    )
