"""Each rule at its boundary (a second before: kept; a second after: gone); dry runs
change nothing; Wjsg art. 39j keeps criminal-disclosure log keys four years."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey, AuditSubjectIndex
from gateway.audit.search import EntryQuery, search_entries
from gateway.audit.store import head_size
from gateway.auth.replay import UsedAssertion
from gateway.cases.models import Case, CaseParticipant, CaseSubject, CaseSubjectRef
from gateway.consent.models import ConsentRequest
from gateway.consent.withholdings import Withholding
from gateway.copies.models import CachedCopy, CopyDrop
from gateway.copies.store import DROP_MARK_KEPT
from gateway.policy.durations import IsoDuration
from gateway.retention.case_rules import CriminalLogKeys
from gateway.rights.erasure import erase_person
from gateway.rights.models import PartnerWithholding, RightsRequest
from gateway.rights.notices import Notice
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.retention.support import (
    COVENANT,
    SECOND,
    T0,
    add_assertion,
    add_case,
    add_consent,
    add_copy,
    add_key,
    add_partner_withholding,
    add_rights_request,
    add_withholding,
    count,
    pseudonym,
    run,
    runner_at,
    runtime_for,
)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    yield from runtime_for(settings)


Setup = Callable[[Session], None]
Present = Callable[[Session], bool]


def _closed_case(session: Session) -> None:
    add_case(session, "c-closed", pseudonym(1), closed_at=T0, last_contact_at=T0)


def _stale_case(session: Session) -> None:
    add_case(session, "c-stale", pseudonym(2), closed_at=None, last_contact_at=T0)


BOUNDARIES: dict[str, tuple[Setup, datetime, Present]] = {
    "case_after_close": (
        _closed_case,
        IsoDuration(years=2).add_to(T0),
        lambda s: s.get(Case, "c-closed") is not None,
    ),
    "after_last_contact": (
        _stale_case,
        IsoDuration(years=5).add_to(T0),
        lambda s: s.get(Case, "c-stale") is not None,
    ),
    "consents": (
        lambda s: add_consent(s, "oc-1", "c-any", date(2027, 6, 30)),
        datetime(2027, 7, 1, tzinfo=T0.tzinfo),  # valid through 30 June (inclusive)
        lambda s: s.get(ConsentRequest, "oc-1") is not None,
    ),
    "replay_store": (
        lambda s: add_assertion(s, "a" * 64, T0),
        T0,
        lambda s: s.get(UsedAssertion, "a" * 64) is not None,
    ),
    "copy_drops": (
        lambda s: s.add(CopyDrop(mark="slot:c-any:politie-demo:huisvesting", dropped_at=T0)),
        T0 + DROP_MARK_KEPT,
        lambda s: s.get(CopyDrop, "slot:c-any:politie-demo:huisvesting") is not None,
    ),
    "copies": (
        lambda s: add_copy(s, "c-any", "rec-1", T0 + timedelta(days=30)),
        T0 + timedelta(days=30),
        lambda s: count(s, CachedCopy) == 1,
    ),
    "partner_withholdings": (
        lambda s: add_partner_withholding(
            s, "c-any", pseudonym(4), "huisvesting", date(2027, 6, 30)
        ),
        datetime(2027, 6, 30, tzinfo=T0.tzinfo),  # withheld while today < until
        lambda s: count(s, PartnerWithholding) == 1,
    ),
    "rights_requests": (
        lambda s: add_rights_request(s, "rr-1", pseudonym(3), T0),
        IsoDuration(years=2).add_to(T0),
        lambda s: s.get(RightsRequest, "rr-1") is not None,
    ),
}


@pytest.mark.parametrize("rule", sorted(BOUNDARIES))
def test_each_rule_at_its_boundary(runtime: Runtime, rule: str) -> None:
    setup, due, present = BOUNDARIES[rule]
    with runtime.db.session() as session:
        setup(session)

    before = run(runner_at(runtime, due - SECOND))
    assert before.rule(rule).rows == 0
    with runtime.db.session() as session:
        assert present(session), f"{rule} removed a second early"

    after = run(runner_at(runtime, due + SECOND))
    assert after.rule(rule).rows == 1
    with runtime.db.session() as session:
        assert not present(session), f"{rule} kept it a second late"
    others = {r.rule: r.rows for r in after.rules if r.rule != rule}
    assert set(others.values()) == {0}, others


def _everything(session: Session) -> None:
    for setup, _, _ in BOUNDARIES.values():
        setup(session)


def test_dry_run_counts_but_changes_nothing(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        _everything(session)
        add_copy(session, "c-closed", "rec-2", T0 + timedelta(days=1))
    far = T0 + timedelta(days=365 * 6)
    with runtime.db.session() as session:
        log_size = head_size(session)
        tables = [Case, CaseSubject, ConsentRequest, UsedAssertion, CachedCopy, RightsRequest]
        before = {model.__name__: count(session, model) for model in tables}

    report = run(runner_at(runtime, far), dry_run=True)
    assert report.dry_run and not report.skipped
    would = {r.rule: r.rows for r in report.rules}
    assert would["copies"] == 2
    assert would["case_after_close"] == 1
    assert would["after_last_contact"] == 2  # the closed case is past 5 years too
    assert would["consents"] == 1
    assert would["replay_store"] == 1
    assert would["rights_requests"] == 1

    with runtime.db.session() as session:
        assert {m.__name__: count(session, m) for m in tables} == before
        assert head_size(session) == log_size  # no certificate either

    real = run(runner_at(runtime, far))
    assert sum(r.rows for r in real.rules) > 0
    with runtime.db.session() as session:
        assert count(session, Case) == 0
        assert count(session, CaseParticipant) == 0
        assert count(session, CachedCopy) == 0
        assert head_size(session) == log_size + len(real.rules)


def test_certificates_name_rule_counts_and_time_only(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        _closed_case(session)
    moment = IsoDuration(years=2).add_to(T0) + SECOND
    run(runner_at(runtime, moment))
    with runtime.db.session() as session:
        page = search_entries(session, runtime.audit.vault, EntryQuery(kind="deletion", limit=50))
    by_rule = {entry["reason"]: entry for entry in page.entries}
    certificate = by_rule["case_after_close"]
    assert certificate["outcome"] == "certificate"
    assert certificate["records"] == 1
    assert certificate["details"]["rule"] == "case_after_close"
    assert certificate["details"]["rows"] == 1
    assert certificate["details"]["finished_at"]
    assert certificate["subject"] is None and certificate["case"] is None
    assert "c-closed" not in str(certificate)


def _key(session: Session, key_id: str) -> AuditDataKey:
    key = session.get(AuditDataKey, key_id)
    assert key is not None
    return key


def test_wjsg_criminal_log_keys_outlive_the_case_for_four_years(runtime: Runtime) -> None:
    person = pseudonym(7)
    with runtime.db.session() as session:
        _closed_case(session)
        add_case(session, "c-crim", person, closed_at=T0, last_contact_at=T0)
        add_key(session, "dk-case", person, "case", "c-crim", T0)
        add_key(session, "dk-crim", person, "strafrechtelijk", "c-crim", T0)
        add_key(session, "dk-subj", person, "subject", "", T0)

    run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    with runtime.db.session() as session:
        assert session.get(Case, "c-crim") is None
        assert session.get(CaseSubject, person) is None
        assert _key(session, "dk-case").wrapped is None
        assert _key(session, "dk-subj").wrapped is None
        assert _key(session, "dk-crim").wrapped is not None  # Wjsg art. 39j

    four_years = IsoDuration(years=4, days=1).add_to(T0)
    early = run(runner_at(runtime, four_years - SECOND))
    assert early.rule("criminal_log").rows == 0
    late = run(runner_at(runtime, four_years + SECOND))
    assert late.rule("criminal_log").rows == 1
    with runtime.db.session() as session:
        crim = _key(session, "dk-crim")
        assert crim.wrapped is None and crim.subject_pseudonym is None


def test_a_criminal_key_used_while_its_floor_is_judged_is_kept(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review-drops: the floor was judged on a last use read without a lock; a key an
    append used in between was shredded on the old date, and the entry of that
    disclosure became unreadable within the Wjsg floor."""
    person = pseudonym(7)
    with runtime.db.session() as session:
        add_case(session, "c-crim", person, closed_at=T0, last_contact_at=T0)
        add_key(session, "dk-crim", person, "strafrechtelijk", "c-crim", T0)
    run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))  # the case goes
    four_years = IsoDuration(years=4, days=1).add_to(T0)
    judged, calls = CriminalLogKeys._due_ids, []

    def then_used(self: CriminalLogKeys, session: Session, ctx: Any, ids: Any) -> Any:
        due = judged(self, session, ctx, ids)
        calls.append(len(due))
        if len(calls) < 2:  # the page's look; the purge judges again, then shreds
            return due
        with runtime.db.engine.begin() as other:  # an append stamps the key meanwhile
            other.execute(
                update(AuditDataKey)
                .where(AuditDataKey.key_id == "dk-crim")
                .values(last_used_at=four_years)
            )
        return due

    monkeypatch.setattr(CriminalLogKeys, "_due_ids", then_used)
    late = run(runner_at(runtime, four_years + SECOND))
    assert calls == [1, 1], "judged due by the page and by the purge"
    assert late.rule("criminal_log").rows == 0
    with runtime.db.session() as session:
        assert _key(session, "dk-crim").wrapped is not None, "used since: its floor restarts"


def test_a_person_with_another_case_keeps_their_own_key(runtime: Runtime) -> None:
    person = pseudonym(8)
    with runtime.db.session() as session:
        add_case(session, "c-old", person, closed_at=T0, last_contact_at=T0)
        add_case(session, "c-new", person, closed_at=None, last_contact_at=T0 + timedelta(days=700))
        add_key(session, "dk-old", person, "case", "c-old", T0)
        add_key(session, "dk-subject", person, "subject", "", T0)
    run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    with runtime.db.session() as session:
        assert session.get(Case, "c-new") is not None
        assert session.get(CaseSubject, person) is not None
        assert _key(session, "dk-subject").wrapped is not None
        assert _key(session, "dk-old").wrapped is None
        remaining = session.scalars(
            select(AuditDataKey.key_id).where(AuditDataKey.wrapped.is_not(None))
        )
        assert set(remaining) == {"dk-subject"}


def test_batches_cover_more_rows_than_one_batch(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        for n in range(25):
            add_copy(session, f"c-{n % 3}", f"rec-{n}", T0)
        add_copy(session, "c-keep", "rec-keep", T0 + timedelta(days=1))
    report = run(runner_at(runtime, T0 + SECOND, batch_size=4))
    assert report.rule("copies").rows == 25
    with runtime.db.session() as session:
        assert count(session, CachedCopy) == 1


def test_a_household_case_takes_every_person_with_it_but_not_their_other_cases(
    runtime: Runtime,
) -> None:
    """Each person of a household case is erased on their own: with their last case."""
    main, partner, child = pseudonym(20), pseudonym(21), pseudonym(22)
    with runtime.db.session() as session:
        add_case(session, "c-home", main, closed_at=T0, last_contact_at=T0)
        add_case(
            session, "c-child", child, closed_at=None, last_contact_at=T0 + timedelta(days=700)
        )
        home = session.get(Case, "c-home")
        assert home is not None
        for position, (person, role) in enumerate(
            ((main, "hoofdpersoon"), (partner, "partner"), (child, "kind")), start=1
        ):
            if session.get(CaseSubject, person) is None:
                session.add(CaseSubject(pseudonym=person, sealed_bsn="dk-x.s", created_at=T0))
            session.add(
                CaseSubjectRef(
                    case_id="c-home",
                    ref=f"s{position}",
                    position=position,
                    role=role,
                    pseudonym=person,
                    added_by="gemeente-demo",
                    added_at=T0,
                )
            )
            add_key(session, f"dk-home-{role}", person, "case", "c-home", T0)
            add_key(session, f"dk-subj-{role}", person, "subject", "", T0)
        session.add(
            CaseSubjectRef(
                case_id="c-child",
                ref="s1",
                position=1,
                role="hoofdpersoon",
                pseudonym=child,
                added_by="gemeente-demo",
                added_at=T0,
            )
        )
    run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    with runtime.db.session() as session:
        assert session.get(Case, "c-home") is None
        assert (
            session.scalars(select(CaseSubjectRef).where(CaseSubjectRef.case_id == "c-home")).all()
            == []
        )
        for role in ("hoofdpersoon", "partner", "kind"):
            assert _key(session, f"dk-home-{role}").wrapped is None
        # The hoofdpersoon and the partner had no other case: gone. The child stays.
        assert session.get(CaseSubject, main) is None
        assert session.get(CaseSubject, partner) is None
        assert _key(session, "dk-subj-partner").wrapped is None
        assert session.get(CaseSubject, child) is not None
        assert _key(session, "dk-subj-kind").wrapped is not None


def test_informatieplicht_statements_go_with_their_case(runtime: Runtime) -> None:
    """``rights_notices`` name a case and its subject refs: purged with the case, no other."""
    with runtime.db.session() as session:
        _closed_case(session)
        add_case(session, "c-open", pseudonym(8), closed_at=None, last_contact_at=T0)
        for case_id in ("c-closed", "c-open"):
            session.add(
                Notice(
                    case_id=case_id,
                    convenant="zvh-demo",
                    subject_ref="s1",
                    informed=True,
                    how="brief",
                    informed_on=T0.date(),
                    by_party="gemeente-demo",
                    recorded_at=T0,
                )
            )

    run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    with runtime.db.session() as session:
        left = session.scalars(select(Notice.case_id)).all()
    assert left == ["c-open"]


@dataclass(frozen=True)
class _Table:
    """A withholding table: how a row is added, the model, and the rule that ends it."""

    add: Callable[[Session, str, str, str, date], None]
    model: type[PartnerWithholding] | type[Withholding]
    rule: str


SOURCES = _Table(add_partner_withholding, PartnerWithholding, "partner_withholdings")
OVJ = _Table(add_withholding, Withholding, "withholdings")


def _held(session: Session, table: _Table) -> set[str]:
    return set(session.scalars(select(table.model.category)))


def _case_with_kept_withholding(
    session: Session, table: _Table, case_id: str, person: str, until: date
) -> None:
    """A case closed at T0 with a criminal key (kept for the Wjsg floor) and a
    withholding of a criminal category in force until ``until``."""
    add_case(session, case_id, person, closed_at=T0, last_contact_at=T0)
    add_key(session, f"dk-case-{case_id}", person, "case", case_id, T0)
    add_key(session, f"dk-crim-{case_id}", person, "strafrechtelijk", case_id, T0 + SECOND)
    table.add(session, case_id, person, "justitiele_gegevens", until)


def _erased_with_the_row(runtime: Runtime, table: _Table, until: date, key_id: str) -> None:
    """The run after ``until``: the row goes, and with it the person it held (same run)."""
    ended = datetime(until.year, until.month, until.day, tzinfo=T0.tzinfo) + SECOND
    report = run(runner_at(runtime, ended))
    assert report.rule(table.rule).rows == 1
    assert report.rule(table.rule).counts["subjects_erased"] == 1
    with runtime.db.session() as session:
        assert _held(session, SOURCES) == set()
        assert _held(session, OVJ) == set()
        assert _key(session, key_id).wrapped is None


def _withholdings_go_with_their_case(runtime: Runtime, table: _Table, person: str) -> None:
    """One hiding entries that no longer open goes with the case; one of a criminal
    category stays while the criminal key is kept and until its day, ties a later key
    of the person's, and its rule erases her in the run that removes it."""
    purged = IsoDuration(years=2).add_to(T0) + SECOND
    visit_checked = IsoDuration(years=4, days=1).add_to(T0) + timedelta(days=1)
    until = visit_checked.date() + timedelta(days=10)
    with runtime.db.session() as session:
        _case_with_kept_withholding(session, table, "c-held", person, until)
        table.add(session, "c-held", person, "huisvesting", until)

    report = run(runner_at(runtime, purged))
    assert report.rule("case_after_close").counts["withholdings"] == 1
    with runtime.db.session() as session:
        assert session.get(Case, "c-held") is None
        assert _held(session, table) == {"justitiele_gegevens"}
        # A /mijn visit after erasure: a new key of the person's own.
        add_key(session, "dk-visit", person, "subject", "", purged)

    run(runner_at(runtime, visit_checked))
    with runtime.db.session() as session:
        assert _held(session, table) == {"justitiele_gegevens"}
        assert _key(session, "dk-visit").wrapped is not None  # still tied by the withholding

    # The same run: the person's last row gone, nothing ties her key (erased with the row).
    _erased_with_the_row(runtime, table, until, "dk-visit")


def _a_kept_withholding_holds_the_person(runtime: Runtime, table: _Table, person: str) -> None:
    """Not erased at the case purge while a kept row names her; erased when it goes."""
    purged = IsoDuration(years=2).add_to(T0) + SECOND
    until = purged.date() + timedelta(days=30)
    with runtime.db.session() as session:
        _case_with_kept_withholding(session, table, "c-kept", person, until)
        add_key(session, "dk-own", person, "subject", "", T0)

    report = run(runner_at(runtime, purged))
    assert report.rule("case_after_close").counts["subjects_erased"] == 0
    with runtime.db.session() as session:
        assert session.get(Case, "c-kept") is None
        assert _held(session, table) == {"justitiele_gegevens"}
        assert _key(session, "dk-own").wrapped is not None  # tied by the withholding
        assert session.get(CaseSubject, person) is not None

    _erased_with_the_row(runtime, table, until, "dk-own")
    with runtime.db.session() as session:
        assert session.get(CaseSubject, person) is None


def test_a_sources_withholdings_go_with_their_case_unless_they_hide_kept_criminal_entries(
    runtime: Runtime,
) -> None:
    """No withholding outlives what it hides: rows named the person in clear after erasure.

    The case's own entries no longer open once it is purged, so their
    withholding goes with it; one of a criminal category stays while the
    criminal key is kept (Wjsg) and until its day, and meanwhile it still
    ties the person's key (``orphan_subject_keys`` leaves a later key alone).
    """
    _withholdings_go_with_their_case(runtime, SOURCES, pseudonym(30))


def test_a_kept_sources_withholding_holds_the_person_until_it_goes(runtime: Runtime) -> None:
    """Review S4: the case purge shredded the person's own key and sealed BSN while her
    source withholding stayed (in force, criminal key kept), though the row counted as
    tying her key. The row now holds the person like a rights request; she is erased in
    the run that removes it. Fails before: ``dk-own`` was shredded at the purge."""
    _a_kept_withholding_holds_the_person(runtime, SOURCES, pseudonym(31))


def test_the_ovjs_withholdings_go_with_their_case_unless_they_hide_kept_criminal_entries(
    runtime: Runtime,
) -> None:
    """The OvJ's withholdings (``withholdings``) as a source's: none outlives what it hides.

    Before, a case purge left every OvJ row until its day, naming pseudonym,
    case, category and recipient after the person was erased, and no rule
    counted it as tying her key. Fails before: the ``huisvesting`` row stayed.
    """
    _withholdings_go_with_their_case(runtime, OVJ, pseudonym(32))


def test_a_kept_ovj_withholding_holds_the_person_until_it_goes(runtime: Runtime) -> None:
    """The case purge erased the person (own key, sealed BSN) while the OvJ's withholding
    of her stayed in force with her pseudonym in clear, and nothing erased her when it
    went. The row now holds her like a source's; the ``withholdings`` rule erases her in
    the run that removes it. Fails before: ``dk-own`` was shredded at the purge."""
    _a_kept_withholding_holds_the_person(runtime, OVJ, pseudonym(33))


def _household_with_an_erased_partner(runtime: Runtime) -> str:
    """Case ``c-house`` closed at T0; the partner (s2) erased from it a year on while
    her criminal key ``dk-partner-crim`` is under the Wjsg floor. Her pseudonym."""
    main, partner = pseudonym(30), pseudonym(31)
    with runtime.db.session() as session:
        add_case(session, "c-house", main, closed_at=T0, last_contact_at=T0)
        session.add(CaseSubject(pseudonym=partner, sealed_bsn="dk-x.s", created_at=T0))
        session.flush()
        for position, (person, role) in enumerate(
            ((main, "hoofdpersoon"), (partner, "partner")), start=1
        ):
            session.add(
                CaseSubjectRef(
                    case_id="c-house",
                    ref=f"s{position}",
                    position=position,
                    role=role,
                    pseudonym=person,
                    added_by="gemeente-demo",
                    added_at=T0,
                )
            )
        add_key(session, "dk-partner-crim", partner, "strafrechtelijk", "c-house", T0)
        session.add(AuditSubjectIndex(pseudonym=partner, seq=1, key_id="dk-partner-crim"))
    erased = erase_person(
        runtime.db,
        partner,
        "c-house",
        policy=runtime.foundations.current_policy()(),
        now=T0 + timedelta(days=365),
    )
    assert erased.keys.strafrechtelijk_kept == 1
    return partner


@pytest.mark.parametrize("table", [SOURCES, OVJ], ids=["source", "ovj"])
def test_an_erased_members_criminal_withholding_stays_while_her_key_is_kept(
    runtime: Runtime, table: _Table
) -> None:
    """Her kept criminal key still opens her entries in her inzage, so the withholding
    hiding them must not go with the case (before, only the people the case still
    named were asked for a kept criminal key: hers was missed and the row dropped)."""
    partner = _household_with_an_erased_partner(runtime)
    until = IsoDuration(years=3).add_to(T0).date()
    with runtime.db.session() as session:
        table.add(session, "c-house", partner, "justitiele_gegevens", until)
        table.add(session, "c-house", partner, "huisvesting", until)
    run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    with runtime.db.session() as session:
        assert session.get(Case, "c-house") is None
        assert _held(session, table) == {"justitiele_gegevens"}


def test_an_erased_household_members_kept_criminal_key_goes_at_the_floor(
    runtime: Runtime,
) -> None:
    """review-c F2: the partner, erased from the case while her criminal key was under
    the Wjsg floor, is no longer among the case's people (her ref's pseudonym is
    cleared). Before, the purge stamped only those people's kept keys, so hers kept
    no covenant and ``criminal_log`` never shredded it, nor dropped its index rows."""
    _household_with_an_erased_partner(runtime)
    purged = run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    assert purged.rule("case_after_close").rows == 1
    with runtime.db.session() as session:
        kept = _key(session, "dk-partner-crim")
        assert kept.wrapped is not None and kept.convenant == COVENANT

    four_years = IsoDuration(years=4, days=1).add_to(T0)
    assert run(runner_at(runtime, four_years - SECOND)).rule("criminal_log").rows == 0
    assert run(runner_at(runtime, four_years + SECOND)).rule("criminal_log").rows == 1
    with runtime.db.session() as session:
        gone = _key(session, "dk-partner-crim")
        assert gone.wrapped is None and gone.subject_pseudonym is None
        assert count(session, AuditSubjectIndex) == 0
