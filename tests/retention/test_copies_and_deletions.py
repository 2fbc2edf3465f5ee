"""On a whole stack: time-limited copies served only when permitted and unexpired;
a source's deletion (feed or push) removes every copy; an erased person cannot
be found in the log, which still verifies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from connectors import SourceHttp
from gateway.audit.integrity import verify_database
from gateway.audit.search import EntryQuery, search_entries
from gateway.brokering.minimise import DisclosedRecord
from gateway.brokering.registry import ConnectorRegistry
from gateway.cases.models import CaseSubject
from gateway.copies import CopySlot, CopyStore
from gateway.copies.models import CachedCopy
from gateway.copies.store import REWRITE_UNCHANGED_AFTER
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.policy.durations import IsoDuration
from gateway.retention import RunReport
from gateway.retention.deletions import record_ref
from gateway.subjects.bsn import Bsn
from gateway.wiring.parts import build_retention_runner
from tests.brokering.support import BSN, audit_entries, logged_in, open_case, results

SOURCE = "reclassering-demo"


def _copies(stack: Stack, case_id: str | None = None) -> list[CachedCopy]:
    with stack.runtime.db.session() as session:
        query = select(CachedCopy)
        if case_id is not None:
            query = query.where(CachedCopy.case_id == case_id)
        return list(session.scalars(query))


def _query_huisvesting(stack: Stack, client: Any, case_id: str) -> dict[str, Any]:
    found = results(client.query(case_id, ["huisvesting"], [SOURCE]))
    return found[(SOURCE, "huisvesting")]


def _run(stack: Stack, moment: datetime | None = None, *, feeds: bool = False) -> RunReport:
    async def go() -> RunReport:
        async with SourceHttp() as sources, httpx.AsyncClient() as client:
            registry = (
                ConnectorRegistry(sources, client, stack.runtime.auth.source_tokens)
                if feeds
                else None
            )
            clock = (lambda: moment) if moment is not None else (lambda: datetime.now(UTC))
            return await build_retention_runner(
                stack.runtime.foundations, registry, now=clock
            ).run()

    return asyncio.run(go())


def test_a_copy_is_kept_and_served_when_the_source_is_down(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    live = _query_huisvesting(stack, gemeente, case_id)
    assert live["status"] == "ok" and live["records"]
    kept = _copies(stack, case_id)
    assert {c.record_id for c in kept} == {r["id"] for r in live["records"]}
    assert all(BSN not in c.sealed and "woonsituatie" not in c.sealed for c in kept)

    stack.sources.source(SOURCE).fail = True
    cached = _query_huisvesting(stack, gemeente, case_id)
    assert (cached["status"], cached["reason"]) == ("ok", "cached_copy")
    assert cached["records"] == live["records"]
    disclosures = [e for e in audit_entries(stack, case_id) if e["reason"] == "cached_copy"]
    assert len(disclosures) == 1 and disclosures[0]["kind"] == "disclosure"

    # A participant without a permitting rule gets nothing from the copy either.
    politie = logged_in(stack, "politie-demo")
    denied = results(politie.query(case_id, ["huisvesting"], [SOURCE]))[(SOURCE, "huisvesting")]
    assert denied["status"] == "denied" and "records" not in denied

    with stack.runtime.db.session() as session:
        session.execute(
            update(CachedCopy).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = _query_huisvesting(stack, gemeente, case_id)
    assert expired["status"] == "unavailable"


def test_an_unchanged_answer_is_not_rewritten_until_the_hour_is_past(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    _query_huisvesting(stack, gemeente, case_id)  # creates the case's data key
    with stack.runtime.db.session() as session:
        pseudonym = session.scalars(select(CaseSubject.pseudonym)).one()
    moment = [datetime.now(UTC)]
    store = CopyStore(stack.runtime.db, stack.runtime.audit.vault, now=lambda: moment[0])
    policy = stack.runtime.policy.current

    def keep(value: str) -> int:
        record = DisclosedRecord("r-1", "2026-01-01", {"woonsituatie": value})
        slot = CopySlot(SOURCE, "huisvesting", "ok", [record], frozenset({"woonsituatie"}))
        return store.keep(policy, DEMO_COVENANT, case_id, pseudonym, [slot], datetime.now(UTC))

    assert keep("huurwoning") == 1
    assert keep("huurwoning") == 0, "the same answer again: no second write"
    assert keep("koopwoning") == 1, "a changed answer is written at once"
    moment[0] += REWRITE_UNCHANGED_AFTER
    assert keep("koopwoning") == 1, "after the hour even an unchanged answer is rewritten"
    [row] = [c for c in _copies(stack, case_id) if c.record_id == "r-1"]
    assert row.stored_at.replace(tzinfo=UTC) == moment[0]


def test_an_expired_copy_is_purged_at_its_boundary(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    _query_huisvesting(stack, gemeente, case_id)
    kept = _copies(stack, case_id)
    assert kept
    expires = kept[0].expires_at.replace(tzinfo=UTC)
    assert _run(stack, expires - timedelta(seconds=1)).rule("copies").rows == 0
    assert _run(stack, expires + timedelta(seconds=1)).rule("copies").rows == len(kept)
    assert _copies(stack, case_id) == []


def test_a_deletion_in_the_source_feed_removes_every_copy(stack: Stack) -> None:
    gemeente, first_case = open_case(stack)
    _, second_case = open_case(stack)
    live = _query_huisvesting(stack, gemeente, first_case)
    _query_huisvesting(stack, gemeente, second_case)
    record_id = str(live["records"][0]["id"])
    assert {c.case_id for c in _copies(stack) if c.record_id == record_id} == {
        first_case,
        second_case,
    }

    assert stack.sources.source(SOURCE).delete(record_id) is not None
    report = _run(stack, feeds=True)
    assert report.rule("source_deletions").counts["events"] == 1
    assert report.rule("source_deletions").rows == 2
    assert [c for c in _copies(stack) if c.record_id == record_id] == []

    logged = [e for e in audit_entries(stack, first_case) if e["kind"] == "deletion"]
    with stack.runtime.db.session() as session:
        page = search_entries(session, stack.runtime.audit.vault, EntryQuery(kind="deletion"))
    events = [e for e in page.entries if e["outcome"] == "source_deleted"]
    assert len(events) == 1 and not logged
    assert events[0]["details"]["record_ref"] == record_ref(SOURCE, record_id)
    assert events[0]["records"] == 2
    assert BSN not in str(events[0]) and record_id not in str(events[0])

    again = _run(stack, feeds=True)  # the cursor was kept: nothing is replayed
    assert again.rule("source_deletions").counts["events"] == 0


def _push(client: Any, party: str, body: object) -> httpx.Response:
    response: httpx.Response = client.call("POST", f"/v1/sources/{party}/deletions", body)
    return response


def test_a_pushed_deletion_removes_the_copy_only_from_its_own_source(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    live = _query_huisvesting(stack, gemeente, case_id)
    record_id = str(live["records"][0]["id"])
    event = {
        "record_id": record_id,
        "subject": {"bsn": BSN},
        "category": "huisvesting",
        "deleted_at": "2027-01-01T00:00:00Z",
    }
    politie = logged_in(stack, "politie-demo")
    refused = _push(politie, SOURCE, {"events": [event]})
    assert refused.status_code == 403
    own_feed = _push(politie, "politie-demo", {"events": [event]})
    assert own_feed.status_code == 200 and own_feed.json()["copies_deleted"] == 0
    assert [c.record_id for c in _copies(stack, case_id)] == [record_id]

    source = logged_in(stack, SOURCE)
    bad = _push(source, SOURCE, {"events": [{**event, "subject": {"bsn": "123456789"}}]})
    assert bad.status_code == 422 and "123456789" not in bad.text
    pushed = _push(source, SOURCE, {"events": [event]})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {"accepted": 1, "copies_deleted": 1}
    assert _copies(stack, case_id) == []


def test_an_erased_person_cannot_be_found_and_the_log_still_verifies(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    _query_huisvesting(stack, gemeente, case_id)
    closed = gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": "doelen_bereikt"})
    assert closed.status_code == 200, closed.text
    closed_at = datetime.fromisoformat(closed.json()["closed_at"])
    runtime = stack.runtime
    person = runtime.pseudonymizer.pseudonym(Bsn(BSN))

    def found() -> list[dict[str, Any]]:
        with runtime.db.session() as session:
            query = EntryQuery(subject_pseudonym=person, limit=500)
            return search_entries(session, runtime.audit.vault, query).entries

    assert found()
    due = IsoDuration(years=2).add_to(closed_at)
    assert _run(stack, due - timedelta(seconds=1)).rule("case_after_close").rows == 0
    assert found()
    report = _run(stack, due + timedelta(seconds=1))
    assert report.rule("case_after_close").rows == 1
    assert report.rule("case_after_close").counts["subjects_erased"] == 1

    assert found() == []
    assert {e["subject"] for e in audit_entries(stack, case_id) if e["subject"]} == {"erased"}
    with runtime.db.session() as session:
        assert session.get(CaseSubject, person) is None
    assert _copies(stack, case_id) == []
    runtime.audit.checkpoint_now()
    verified = verify_database(runtime.db, runtime.keys.jwks("audit"))
    assert verified.result.ok, verified.result.problem
