"""Sources stay authoritative over the copies kept of them (docs/retention.md).

A copy stands in only while the source says nothing at all (timeout, no
connection, 5xx). Its own answer ends the copy: "not known here" deletes it, a
refusal (403) is never bridged, and a covenant that turns copies off or
shortens their term stops the copies already kept, in serving and in retention.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

import gateway.brokering.broker as broker_module
from gateway.copies import CopyStore, delete_source_records
from gateway.copies.models import CachedCopy
from gateway.copies.store import drop_times, mark_dropped, slot_mark
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.retention import RunReport
from gateway.subjects.bsn import Bsn
from gateway.wiring.parts import build_retention_runner
from tests.brokering.support import BSN, change_covenant, open_case, results

SOURCE = "reclassering-demo"


def _copies(stack: Stack, case_id: str) -> list[CachedCopy]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(CachedCopy).where(CachedCopy.case_id == case_id)))


def _housing(client: Any, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = results(client.query(case_id, ["huisvesting"], [SOURCE]))[
        (SOURCE, "huisvesting")
    ]
    return found


def _kept(stack: Stack) -> tuple[Any, str]:
    """A case whose live housing answer was kept as a copy."""
    gemeente, case_id = open_case(stack)
    live = _housing(gemeente, case_id)
    assert live["status"] == "ok" and live["records"]
    assert _copies(stack, case_id)
    return gemeente, case_id


def _forget_person(stack: Stack) -> Any:
    """The partner erases the person: its source no longer knows her; the source."""
    source = stack.sources.source(SOURCE)
    for record in source.all_about(Bsn(BSN)):
        assert source.delete(record.id) is not None
    return source


def _copies_term(stack: Stack, term: str) -> None:
    def change(document: dict[str, Any]) -> None:
        document["retention"]["copies"] = term

    change_covenant(stack, change)


def test_a_source_that_no_longer_knows_the_person_ends_the_copy(stack: Stack) -> None:
    gemeente, case_id = _kept(stack)
    source = _forget_person(stack)

    gone = _housing(gemeente, case_id)
    assert (gone["status"], gone["reason"]) == ("not_found", "subject_unknown")
    assert _copies(stack, case_id) == [], "the source's 'not known' deletes the copy"

    source.fail = True  # down afterwards: nothing to stand in
    down = _housing(gemeente, case_id)
    assert (down["status"], down["reason"]) == ("unavailable", "bad_status")
    assert "records" not in down


def _refuse_copy_deletes(stack: Stack, refuse: bool) -> None:
    """A trigger that makes every delete of a kept copy fail in the database itself."""
    with stack.runtime.db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if not refuse:
            on = " ON cached_copies" if postgres else ""
            connection.execute(text(f"DROP TRIGGER kp_keep_copies{on}"))
            if postgres:
                connection.execute(text("DROP FUNCTION kp_keep_copies()"))
            return
        if postgres:
            connection.execute(
                text(
                    "CREATE FUNCTION kp_keep_copies() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'copy kept'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER kp_keep_copies BEFORE DELETE ON cached_copies "
                    "FOR EACH ROW EXECUTE FUNCTION kp_keep_copies()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER kp_keep_copies BEFORE DELETE ON cached_copies "
                    "BEGIN SELECT RAISE(ABORT, 'copy kept'); END"
                )
            )


def test_a_copy_whose_drop_failed_is_not_served_afterwards(stack: Stack) -> None:
    """Review F5: a failed delete was logged and swallowed, and the next 5xx served the
    copy the source's "not known" had ended. Now the slot is held back until it goes."""
    gemeente, case_id = _kept(stack)
    source = _forget_person(stack)
    _refuse_copy_deletes(stack, True)
    gone = _housing(gemeente, case_id)
    assert (gone["status"], gone["reason"]) == ("not_found", "subject_unknown")
    assert _copies(stack, case_id), "the delete failed in the database"

    source.fail = True
    down = _housing(gemeente, case_id)
    assert (down["status"], down["reason"]) == ("unavailable", "bad_status")
    assert "records" not in down, "what the source said no to is not served"

    _refuse_copy_deletes(stack, False)
    again = _housing(gemeente, case_id)
    assert again["status"] == "unavailable" and "records" not in again
    assert _copies(stack, case_id) == [], "the held-back slot's delete is tried again"


def test_a_refusing_source_is_not_bridged_by_its_copy(stack: Stack) -> None:
    gemeente, case_id = _kept(stack)
    source = stack.sources.source(SOURCE)
    source.refuse = True
    refused = _housing(gemeente, case_id)
    assert (refused["status"], refused["reason"]) == ("unavailable", "unauthorized")
    assert "records" not in refused
    assert _copies(stack, case_id) == [], "a refusal ends what was kept of the source"

    source.refuse, source.fail = False, True
    down = _housing(gemeente, case_id)
    assert down["status"] == "unavailable" and "records" not in down


def test_a_server_error_is_still_bridged(stack: Stack) -> None:
    gemeente, case_id = _kept(stack)
    stack.sources.source(SOURCE).fail = True  # 500: the source said nothing
    cached = _housing(gemeente, case_id)
    assert (cached["status"], cached["reason"]) == ("ok", "cached_copy")


def test_copies_turned_off_in_the_covenant_are_neither_served_nor_kept(stack: Stack) -> None:
    gemeente, case_id = _kept(stack)
    _copies_term(stack, "P0D")
    stack.sources.source(SOURCE).fail = True
    down = _housing(gemeente, case_id)
    assert down["status"] == "unavailable" and "records" not in down

    report = _retention(stack, datetime.now(UTC))
    assert report.rule("copies").rows == 1
    assert _copies(stack, case_id) == []


def test_a_shortened_term_ends_copies_kept_under_the_longer_one(stack: Stack) -> None:
    _, case_id = _kept(stack)
    [kept] = _copies(stack, case_id)
    stored = kept.stored_at.replace(tzinfo=UTC)
    assert kept.expires_at.replace(tzinfo=UTC) > stored + timedelta(days=29)  # P30D when kept
    _copies_term(stack, "P7D")
    policy = stack.runtime.policy.current
    pseudonym = stack.runtime.pseudonymizer.pseudonym(Bsn(BSN))
    fields = frozenset({"woonsituatie", "sinds"})

    def served(moment: datetime) -> bool:
        store = CopyStore(stack.runtime.db, stack.runtime.audit.vault, now=lambda: moment)
        found = store.serve(
            policy, DEMO_COVENANT, case_id, pseudonym, SOURCE, "huisvesting", fields
        )
        return found is not None

    week = timedelta(days=7)
    assert served(stored + week - timedelta(seconds=1))
    assert not served(stored + week), "the covenant's term now, not the one it was kept with"
    assert _retention(stack, stored + week - timedelta(seconds=1)).rule("copies").rows == 0
    assert _retention(stack, stored + week).rule("copies").rows == 1
    assert _copies(stack, case_id) == []


def _retention(stack: Stack, moment: datetime) -> RunReport:
    async def go() -> RunReport:
        return await build_retention_runner(
            stack.runtime.foundations, None, now=lambda: moment
        ).run()

    return asyncio.run(go())


def _defer_keeps(monkeypatch: Any) -> list[tuple[Any, ...]]:
    """Hold back the next query's keep (as if its audit commit were slow); its arguments."""
    original = broker_module.keep_copies
    deferred: list[tuple[Any, ...]] = []

    async def later(*args: Any) -> None:
        deferred.append(args)
        monkeypatch.setattr(broker_module, "keep_copies", original)

    monkeypatch.setattr(broker_module, "keep_copies", later)
    return deferred


def _in_flight(stack: Stack, monkeypatch: Any) -> tuple[Any, str, list[tuple[Any, ...]]]:
    """A kept case, then a query whose ``ok`` answer is fetched but not yet kept."""
    gemeente, case_id = _kept(stack)
    deferred = _defer_keeps(monkeypatch)
    assert _housing(gemeente, case_id)["status"] == "ok"
    return gemeente, case_id, deferred


def _land(deferred: list[tuple[Any, ...]]) -> None:
    [args] = deferred
    asyncio.run(broker_module.keep_copies(*args))


def _not_served(stack: Stack, gemeente: Any, case_id: str) -> None:
    stack.sources.source(SOURCE).fail = True
    down = _housing(gemeente, case_id)
    assert (down["status"], down["reason"]) == ("unavailable", "bad_status")
    assert "records" not in down, "an answer from before the source's 'no' is not served"


def test_an_answer_fetched_before_a_drop_is_not_kept_after_it(
    stack: Stack, monkeypatch: Any
) -> None:
    """Review-perf F1: query 1's keep ran after its audit commit, query 2's "not known"
    dropped the copy in between, and query 1's keep wrote the old answer back with a
    full new term, served at the next 5xx."""
    gemeente, case_id, deferred = _in_flight(stack, monkeypatch)  # query 1
    _forget_person(stack)
    assert _housing(gemeente, case_id)["status"] == "not_found"  # query 2 drops
    assert _copies(stack, case_id) == []

    _land(deferred)
    assert _copies(stack, case_id) == [], "the drop since the fetch stands"
    _not_served(stack, gemeente, case_id)


def test_an_answer_fetched_before_a_source_deletion_is_not_kept_after_it(
    stack: Stack, monkeypatch: Any
) -> None:
    gemeente, case_id, deferred = _in_flight(stack, monkeypatch)
    source = stack.sources.source(SOURCE)
    ids = [record.id for record in source.all_about(Bsn(BSN))]
    with stack.runtime.db.session() as session:  # the source's deletion event arrives
        assert delete_source_records(session, SOURCE, ids) > 0
    for record_id in ids:
        assert source.delete(record_id) is not None

    _land(deferred)
    assert _copies(stack, case_id) == [], "the deletion since the fetch stands"
    _not_served(stack, gemeente, case_id)


def test_a_failed_drops_hold_is_not_lifted_by_an_older_answer(
    stack: Stack, monkeypatch: Any
) -> None:
    gemeente, case_id, deferred = _in_flight(stack, monkeypatch)
    _forget_person(stack)
    _refuse_copy_deletes(stack, True)
    assert _housing(gemeente, case_id)["status"] == "not_found"  # its drop fails
    _refuse_copy_deletes(stack, False)

    _land(deferred)
    _not_served(stack, gemeente, case_id)
    assert _copies(stack, case_id) == [], "the held slot's delete is tried again"


def test_a_drop_that_fails_during_a_keep_is_not_lifted_by_it(
    stack: Stack, monkeypatch: Any
) -> None:
    """Review-drops F1: a keep checked the hold before its transaction and lifted every
    hold of the slots it wrote after it, so a drop that failed meanwhile (here waiting on
    the keep's own lock until the database gave up) left the old answer kept and served."""
    gemeente, case_id, deferred = _in_flight(stack, monkeypatch)
    store = deferred[0][0]
    _forget_person(stack)
    corrected, dropped = store._corrected, []

    def drop_inside_the_keep(session: Any, pseudonym: str, since: Any) -> Any:
        if not dropped:  # a concurrent "not found" whose drop cannot get the lock
            dropped.append(store.drop(case_id, [(SOURCE, "huisvesting")]))
        return corrected(session, pseudonym, since)

    monkeypatch.setattr(store, "_corrected", drop_inside_the_keep)
    store._written.clear()  # another worker's keep: no memory of the answer
    _land(deferred)
    assert dropped == [0], "the drop failed while the keep held the slot"
    _not_served(stack, gemeente, case_id)
    assert _copies(stack, case_id) == [], "the keep ran the failed drop again"


def test_a_failed_delete_stops_every_process_serving_the_copy(stack: Stack) -> None:
    """Review-drops F5: the hold after a failed delete was per process. The drop's mark
    now commits before the delete, and no store serves a copy kept before its mark."""
    gemeente, case_id = _kept(stack)
    _forget_person(stack)
    _refuse_copy_deletes(stack, True)
    assert _housing(gemeente, case_id)["status"] == "not_found"  # the delete fails
    assert _copies(stack, case_id)
    other = CopyStore(stack.runtime.db, stack.runtime.audit.vault)  # another worker
    pseudonym = stack.runtime.pseudonymizer.pseudonym(Bsn(BSN))
    fields = frozenset({"woonsituatie", "sinds"})
    served = other.serve(
        stack.runtime.policy.current,
        DEMO_COVENANT,
        case_id,
        pseudonym,
        SOURCE,
        "huisvesting",
        fields,
    )
    assert served is None, "a copy kept before the drop's mark is served by no process"
    _refuse_copy_deletes(stack, False)


def test_a_drop_mark_never_moves_back_in_time(stack: Stack) -> None:
    """Review-drops F2: a drop that took its time first but committed last set the mark
    back, and a keep fetched between the two drops was kept."""
    later, earlier = datetime.now(UTC), datetime.now(UTC) - timedelta(minutes=1)
    mark = slot_mark("c-any", SOURCE, "huisvesting")
    for moment in (later, earlier):
        with stack.runtime.db.session() as session:
            mark_dropped(session, [mark], moment)
    with stack.runtime.db.session() as session:
        assert drop_times(session, [mark]) == {mark: later}
        assert drop_times(session, ["slot:c-other:x:y"]) == {}, "no drop, no time"
