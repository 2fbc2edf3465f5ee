"""One error no longer stops a whole retention run (review-b F1), a lost run lock stops
it at once, and criminal log keys wait for their own covenant's floor (review-b F7).

Sources are real HTTP servers on loopback; the database faults are real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors import SourceHttp
from gateway.audit.models import AuditDataKey
from gateway.audit.search import EntryQuery, search_entries
from gateway.brokering.registry import ConnectorRegistry
from gateway.cases.models import Case
from gateway.cli.serve import prepare
from gateway.consent.models import ConsentRequest
from gateway.demo.stack import copy_policies
from gateway.policy import load_policy_dir
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.durations import IsoDuration
from gateway.retention import RetentionRunner, RunReport
from gateway.retention.deletions import FEED_BUDGET_S, DeletionFeeds, cursor_name
from gateway.retention.lease import LEASE_NAME, RETENTION_LOCK_ID
from gateway.rights.erasure import erase_person
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.storage.state import GatewayState, get_state
from tests.retention.support import (
    COVENANT,
    SECOND,
    T0,
    add_assertion,
    add_case,
    add_consent,
    add_key,
    add_rights_request,
    count,
    pseudonym,
    run,
    runner_at,
    runtime_for,
)
from tests.support.loopback import serve_app

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
FAR = T0 + timedelta(days=3 * 366)  # past every P2Y term of the demo covenant
EVENT = {
    "record_id": "r-1",
    "subject": {"bsn": "999990019"},
    "category": "huisvesting",
    "deleted_at": "2027-03-01T12:00:00Z",
}


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    yield from runtime_for(settings)


def _expired_case(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        add_case(session, "c-expired", pseudonym(1), closed_at=T0, last_contact_at=T0)


def _case_present(runtime: Runtime) -> bool:
    with runtime.db.session() as session:
        return session.get(Case, "c-expired") is not None


def _certificates(runtime: Runtime) -> dict[str, dict[str, object]]:
    with runtime.db.session() as session:
        page = search_entries(session, runtime.audit.vault, EntryQuery(kind="deletion", limit=100))
    return {str(e["reason"]): e for e in page.entries if e["outcome"] in ("certificate", "failed")}


def test_a_failing_rule_is_certified_failed_and_the_others_still_run(runtime: Runtime) -> None:
    """Before: the first error ended the run; every later rule waited for ever."""
    with runtime.db.session() as session:
        add_rights_request(session, "rr-old", pseudonym(3), T0)
        add_assertion(session, "jti-old", T0)
        dialect = session.get_bind().dialect.name
        cascade = " CASCADE" if dialect == "postgresql" else ""
        session.execute(text(f"DROP TABLE {ConsentRequest.__tablename__}{cascade}"))

    report = run(runner_at(runtime, FAR))

    assert report.failed and not report.lease_lost
    assert report.rule("consents").failed is not None
    assert report.rule("rights_requests").rows == 1  # after the failing rule
    assert report.rule("replay_store").rows == 1
    assert [r.rule for r in report.rules if r.failed] == ["consents"]
    certificates = _certificates(runtime)
    failed = certificates["consents"]
    assert failed["outcome"] == "failed"
    details = failed["details"]
    assert isinstance(details, dict) and details["error"] == report.rule("consents").failed
    assert "consent_requests" not in str(failed)  # the error type, never its text
    assert certificates["replay_store"]["outcome"] == "certificate"


def test_a_period_beyond_the_calendar_does_not_stop_the_run(runtime: Runtime) -> None:
    """A covenant that passed ``policy check`` before the P100Y cap: ``P2500Y`` made the
    run raise OverflowError, and consents, rights requests, … never went."""
    loaded = runtime.foundations.current_policy()()
    demo = loaded.covenant(COVENANT)
    assert demo is not None
    retention = demo.retention.model_copy(update={"after_last_contact": IsoDuration(years=2500)})
    long = CompiledPolicy([demo.model_copy(update={"retention": retention})])
    _expired_case(runtime)
    with runtime.db.session() as session:
        add_consent(session, "oc-old", "c-expired", (T0 - timedelta(days=400)).date())
    base = runtime.foundations
    runner = RetentionRunner(base.db, base.audit, lambda: long, now=lambda: FAR)

    report = run(runner)

    assert not report.failed
    assert report.rule("after_last_contact").rows == 0
    assert report.rule("case_after_close").rows == 1
    assert not _case_present(runtime)
    with runtime.db.session() as session:
        assert count(session, ConsentRequest) == 0
    assert IsoDuration(years=99_999_999).add_to(T0).year == 9999


@dataclass
class FeedSource:
    """A source's deletion feed answering ``body``; ``on_request`` runs before it answers."""

    body: bytes
    on_request: Callable[[], None] = lambda: None
    requests: list[str | None] = field(default_factory=list)

    def app(self) -> Starlette:
        async def deletions(request: Request) -> Response:
            self.requests.append(request.query_params.get("since"))
            self.on_request()
            return Response(self.body, media_type="application/json")

        return Starlette(routes=[Route("/deletions", deletions, methods=["GET"])])


@pytest.fixture
def feed() -> Iterator[tuple[FeedSource, str]]:
    source = FeedSource(b'{"events": [], "next": null}')
    with serve_app(source.app()) as base_url:
        yield source, base_url


@pytest.fixture
def fed(migrated_url: str, tmp_path: Path, feed: tuple[FeedSource, str]) -> Iterator[Runtime]:
    """A gateway whose every REST source's feed is ``feed`` (so no other source answers)."""
    _, base_url = feed
    template = load_policy_dir(REPO_POLICIES, require_keys=False)
    parties = {
        party.id: base_url
        for covenant in template.covenants
        for party in covenant.parties
        if party.source is not None and party.source.type == "rest"
    }
    copy_policies(REPO_POLICIES, tmp_path / "policies", parties)
    settings = Settings(
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=tmp_path / "policies",
        base_url="http://testserver",
        dev_mode=True,
    )
    runtime = prepare(settings)
    try:
        yield runtime
    finally:
        runtime.close()


def _run_with_feeds(runtime: Runtime, *, budget_s: float = FEED_BUDGET_S) -> RunReport:
    async def go() -> RunReport:
        async with SourceHttp() as sources, httpx.AsyncClient() as client:
            registry = ConnectorRegistry(sources, client, runtime.auth.source_tokens)
            base = runtime.foundations
            policy = base.current_policy()
            feeds = DeletionFeeds(base.db, base.audit, policy, registry, budget_s=budget_s)
            runner = RetentionRunner(base.db, base.audit, policy, feeds=feeds, now=lambda: FAR)
            return await runner.run()

    return asyncio.run(go())


def _cursors(runtime: Runtime) -> list[str | None]:
    policy = runtime.foundations.current_policy()()
    with runtime.db.session() as session:
        return [
            get_state(session, cursor_name(covenant, party.id))
            for covenant, compiled in policy.covenants.items()
            for party in compiled.covenant.parties
            if party.source is not None and party.source.type == "rest"
        ]


@pytest.mark.parametrize("cursor", ["x\\u0000", "x" * 1025], ids=["nul", "too-long"])
def test_a_feed_cursor_postgresql_cannot_store_is_refused_and_retention_goes_on(
    fed: Runtime, feed: tuple[FeedSource, str], cursor: str
) -> None:
    """Before: stored as sent; on PostgreSQL a DataError stopped all retention, every run."""
    source, _ = feed
    source.body = b'{"events": [], "next": "' + cursor.encode() + b'"}'
    _expired_case(fed)

    report = _run_with_feeds(fed)

    assert source.requests  # the feed was asked
    feeds = report.rule("source_deletions")
    assert feeds.counts["unavailable"] == len(source.requests) and feeds.failed is None
    assert set(_cursors(fed)) == {None}
    assert not _case_present(fed)  # the later rules ran
    assert not report.failed


def _steal_lock(database_url: str) -> None:
    """What another runner (or a dropped connection) does while a page is on its way."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                        "'advisory' AND granted AND (classid::bigint << 32 | objid::bigint) = :id"
                    ),
                    {"id": RETENTION_LOCK_ID},
                )
            else:
                connection.execute(
                    update(GatewayState)
                    .where(GatewayState.name == LEASE_NAME)
                    .values(value="another-runner", updated_at=FAR + timedelta(days=3650))
                )
    finally:
        engine.dispose()


def test_a_lost_run_lock_stops_the_run_before_the_page_is_applied(
    fed: Runtime, feed: tuple[FeedSource, str], migrated_url: str
) -> None:
    """Before: the lease was renewed only between rule batches and its answer ignored, so
    a slow feed let a second runner in while the first went on purging."""
    source, _ = feed
    source.body = b'{"events": [' + str(EVENT).replace("'", '"').encode() + b'], "next": "1"}'
    source.on_request = lambda: _steal_lock(migrated_url)
    _expired_case(fed)

    report = _run_with_feeds(fed)

    assert len(source.requests) == 1
    assert set(_cursors(fed)) == {None}  # the page was not applied
    assert _case_present(fed)  # no later rule ran
    assert [r.rule for r in report.rules] == ["source_deletions"]
    assert report.lease_lost and report.failed
    assert report.rule("source_deletions").failed == "LeaseLost"
    assert _certificates(fed)["source_deletions"]["outcome"] == "failed"


def test_the_feeds_of_one_run_have_a_time_budget(
    fed: Runtime, feed: tuple[FeedSource, str]
) -> None:
    """Spent (here: none at all), the feeds wait for the next run; every rule still runs."""
    source, _ = feed
    _expired_case(fed)

    report = _run_with_feeds(fed, budget_s=0)

    assert source.requests == []
    assert report.rule("source_deletions").counts["deferred"] == len(_cursors(fed))
    assert not _case_present(fed)
    assert not report.failed


def _renamed(policy: CompiledPolicy, new_id: str) -> CompiledPolicy:
    demo = policy.covenant(COVENANT)
    assert demo is not None
    return CompiledPolicy([demo.model_copy(update={"id": new_id})])


def _six_years(policy: CompiledPolicy) -> CompiledPolicy:
    demo = policy.covenant(COVENANT)
    assert demo is not None
    six = IsoDuration(years=6)
    categories = [
        c.model_copy(update={"log_retention": six}) if c.sensitivity == "strafrechtelijk" else c
        for c in demo.categories
    ]
    return CompiledPolicy([demo.model_copy(update={"categories": categories})])


def test_a_criminal_log_key_waits_for_its_own_covenant_even_when_unloaded(
    runtime: Runtime,
) -> None:
    """Before: a key of a purged case went by the longest floor of the covenants loaded
    now, so unloading the covenant that set P6Y shredded its keys after P4Y1D."""
    loaded = runtime.foundations.current_policy()()
    six = _six_years(loaded)
    other = _renamed(loaded, "zvh-ander")  # another region's covenant, P4Y
    person = pseudonym(7)
    with runtime.db.session() as session:
        add_case(session, "c-crim", person, closed_at=T0, last_contact_at=T0)
        add_key(session, "dk-crim", person, "strafrechtelijk", "c-crim", T0)
    base = runtime.foundations

    def at(policy: CompiledPolicy, moment: datetime) -> RunReport:
        return run(RetentionRunner(base.db, base.audit, lambda: policy, now=lambda: moment))

    purged = at(six, IsoDuration(years=2).add_to(T0) + SECOND)
    assert purged.rule("case_after_close").rows == 1

    five = IsoDuration(years=5).add_to(T0)
    assert at(other, five).rule("criminal_log").rows == 0  # its covenant is not loaded
    assert at(six, five).rule("criminal_log").rows == 0
    with runtime.db.session() as session:
        kept = session.get(AuditDataKey, "dk-crim")
        assert kept is not None and kept.wrapped is not None and kept.convenant == COVENANT
    assert at(six, IsoDuration(years=6).add_to(T0) + SECOND).rule("criminal_log").rows == 1
    with runtime.db.session() as session:
        gone = session.get(AuditDataKey, "dk-crim")
        assert gone is not None and gone.wrapped is None


def test_the_migration_gives_existing_criminal_keys_their_cases_covenant(
    database_url: str,
) -> None:
    """From the log's own query column when it names one covenant; else NULL (kept)."""
    from alembic import command

    from gateway.storage import migrate

    config = migrate.alembic_config(database_url)
    command.upgrade(config, "0008_fgscope")
    engine = create_engine(database_url)
    key = (
        "INSERT INTO audit_data_keys (key_id, scope, subject_pseudonym, case_id, wrapped,"
        " created_at, last_used_at) VALUES (:id, :scope, 'p', :case, 'w', :t, :t)"
    )
    entry = (
        "INSERT INTO audit_entries (seq, time, kind, outcome, case_id, convenant, leaf_hash,"
        " body) VALUES (:seq, :t, 'disclosure', 'ok', :case, :cov, :hash, '{}')"
    )
    try:
        with engine.begin() as connection:
            for seq, (case, cov) in enumerate(
                [("c-one", COVENANT), ("c-one", COVENANT), ("c-two", "a"), ("c-two", "b")]
            ):
                connection.execute(
                    text(entry), {"seq": seq, "t": T0, "case": case, "cov": cov, "hash": b"h" * 32}
                )
            for key_id, scope, case in [
                ("dk-one", "strafrechtelijk", "c-one"),
                ("dk-two", "strafrechtelijk", "c-two"),
                ("dk-none", "strafrechtelijk", "c-none"),
                ("dk-case", "case", "c-one"),
            ]:
                connection.execute(text(key), {"id": key_id, "scope": scope, "case": case, "t": T0})
        command.upgrade(config, "heads")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT key_id, convenant FROM audit_data_keys"))
            stamped = {str(row[0]): row[1] for row in rows}
    finally:
        engine.dispose()
    assert stamped == {"dk-one": COVENANT, "dk-two": None, "dk-none": None, "dk-case": None}


def test_the_migration_stamps_criminal_keys_a_purge_left_unstamped(database_url: str) -> None:
    """review-c F2: an erased household member's kept criminal key, its case purged
    before the fix, had no covenant; 0013 gives it its case's, as 0011 did."""
    from alembic import command

    from gateway.storage import migrate

    config = migrate.alembic_config(database_url)
    command.upgrade(config, "0012_auditappend")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO audit_entries (seq, time, kind, outcome, case_id, convenant,"
                    " leaf_hash, body) VALUES (1, :t, 'disclosure', 'ok', 'c-gone', :cov, :h, '{}')"
                ),
                {"t": T0, "cov": COVENANT, "h": b"h" * 32},
            )
            connection.execute(
                text(
                    "INSERT INTO audit_data_keys (key_id, scope, subject_pseudonym, case_id,"
                    " wrapped, created_at, last_used_at) VALUES"
                    " ('dk-erased', 'strafrechtelijk', 'p', 'c-gone', 'w', :t, :t)"
                ),
                {"t": T0},
            )
        command.upgrade(config, "heads")
        with engine.connect() as connection:
            stamped = connection.scalar(
                text("SELECT convenant FROM audit_data_keys WHERE key_id = 'dk-erased'")
            )
    finally:
        engine.dispose()
    assert stamped == COVENANT


def test_erasing_a_person_keeps_a_criminal_key_for_its_covenants_floor(
    runtime: Runtime,
) -> None:
    """review-c F2 (related): erasure used a fixed four years and a day, so under a
    covenant with log_retention P6Y it shredded the key early. Now the covenant's
    floor, as retention's; an unloaded covenant keeps the key."""
    loaded = runtime.foundations.current_policy()()
    six, other = _six_years(loaded), _renamed(loaded, "zvh-ander")
    person = pseudonym(9)
    with runtime.db.session() as session:
        add_case(session, "c-crim", person, closed_at=None, last_contact_at=T0)
        add_key(session, "dk-crim", person, "strafrechtelijk", "c-crim", T0)
    five = IsoDuration(years=5).add_to(T0)
    for policy in (six, other):
        erased = erase_person(runtime.db, person, "c-crim", policy=policy, now=five)
        assert erased.keys.keys_erased == 0 and erased.keys.strafrechtelijk_kept == 1
    later = IsoDuration(years=6).add_to(T0) + SECOND
    assert erase_person(runtime.db, person, policy=other, now=later).keys.keys_erased == 0
    assert erase_person(runtime.db, person, policy=six, now=later).keys.keys_erased == 1
    with runtime.db.session() as session:
        gone = session.get(AuditDataKey, "dk-crim")
        assert gone is not None and gone.wrapped is None
