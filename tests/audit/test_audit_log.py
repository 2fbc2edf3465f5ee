"""Appending: what an entry holds, group commit, fail-closed, scheduled checkpoints."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.audit.checkpoints import all_checkpoints, latest_checkpoint
from gateway.audit.core.checkpoint_format import verify_checkpoint
from gateway.audit.core.merkle import root_from_leaves
from gateway.audit.events import AuditEvent
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog, AuditUnavailable
from gateway.audit.models import AuditCheckpoint, AuditEntry
from gateway.audit.signer import Ed25519Signer
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.audit.conftest import SUBJECT_A, event


def test_entry_holds_identifiers_and_counts_but_no_pseudonym(
    audit_log: AuditLog, db: Database
) -> None:
    seqs = audit_log.append_sync([event(1, encrypt_employee=True, records=3, trimmed_fields=2)])
    assert seqs == [0]
    with db.session() as session:
        row = session.get(AuditEntry, 0)
        assert row is not None
        body = row.body
    assert SUBJECT_A not in body
    assert "emp-1" not in body
    entry = json.loads(body)
    assert entry["seq"] == 0
    assert entry["kind"] == "disclosure"
    assert entry["party"] == "politie"
    assert entry["convenant"] == "zvh-demo"
    assert entry["records"] == 3 and entry["trimmed_fields"] == 2
    assert entry["processing_activity"] == "urn:ketenpoort:processing:zvh-demo:triage"
    assert entry["subject"]["key"].startswith("dk-")
    assert entry["employee"] is None and entry["employee_sealed"]


def test_trace_ids_come_from_the_current_span(audit_log: AuditLog, db: Database) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("query") as span:
        audit_log.append_sync([event(2)])
        context = span.get_span_context()
    with db.session() as session:
        entry = json.loads(session.scalars(select(AuditEntry.body)).one())
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")


def test_bad_events_are_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="case id"):
        AuditEvent(kind="decision", outcome="ok", subject_pseudonym=SUBJECT_A)
    with pytest.raises(ValueError, match="encrypt_employee"):
        AuditEvent(kind="decision", outcome="ok", employee="e", encrypt_employee=True)
    AuditEvent(
        kind="rights", outcome="received", subject_pseudonym=SUBJECT_A, subject_scope="subject"
    )


def test_concurrent_async_appends_share_commits_and_keep_one_tree(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    audit_log.start()

    async def burst() -> list[list[int]]:
        return await asyncio.gather(
            *(audit_log.append([event(n), event(n + 1)]) for n in range(0, 400, 2))
        )

    results = asyncio.run(burst())
    seqs = sorted(s for pair in results for s in pair)
    assert seqs == list(range(400))
    assert all(pair[1] == pair[0] + 1 for pair in results)
    audit_log.stop()
    audit_log.checkpoint_now()
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert outcome.result.verified_size == 400


def test_sync_appends_from_threads_go_through_the_writer(audit_log: AuditLog) -> None:
    import threading

    audit_log.start()
    got: list[int] = []
    lock = threading.Lock()

    def worker(base: int) -> None:
        for n in range(20):
            seqs = audit_log.append_sync([event(base + n)])
            with lock:
                got.extend(seqs)

    threads = [threading.Thread(target=worker, args=(i * 100,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(100))


def test_fail_closed_when_the_table_is_gone(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(1)])
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE audit_entries"))
    with pytest.raises(AuditUnavailable):
        audit_log.append_sync([event(2)])
    audit_log.start()
    with pytest.raises(AuditUnavailable):
        asyncio.run(audit_log.append([event(3)]))


def test_fail_closed_when_the_database_is_unreachable(
    settings: Settings, signer: Ed25519Signer
) -> None:
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none", timeout_s=1)
    log = build_audit_log(settings, dead, signer)
    try:
        with pytest.raises(AuditUnavailable):
            log.append_sync([event(1)])
        log.start()
        with pytest.raises(AuditUnavailable):
            asyncio.run(log.append([event(2)]))
    finally:
        log.stop()
        dead.dispose()


def test_checkpoints_are_signed_within_two_seconds(
    settings: Settings, db: Database, signer: Ed25519Signer
) -> None:
    log = AuditLog(db, build_audit_log(settings, db).vault, signer, checkpoint_interval_s=0.2)
    log.start()
    try:
        log.append_sync([event(n) for n in range(5)])
        deadline = time.monotonic() + 2.0
        head = None
        while time.monotonic() < deadline:
            with db.session() as session:
                head = latest_checkpoint(session)
            if head is not None and head.size == 5:
                break
            time.sleep(0.05)
        assert head is not None and head.size == 5
        verify_checkpoint(head, signer.jwks())
    finally:
        log.stop()


def test_racing_instances_publish_one_head_per_size(
    settings: Settings, db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    audit_log.append_sync([event(n) for n in range(9)])
    other = build_audit_log(settings, Database(settings.sqlalchemy_url), signer)
    try:
        first = audit_log.checkpoint_now()
        assert other.checkpoint_now() is None
        assert first is not None
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1
            leaves = list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)))
            assert all_checkpoints(session)[0].root_hash == root_from_leaves(leaves).hex()
    finally:
        other.db.dispose()


def test_append_in_a_rolled_back_transaction_leaves_no_trace(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    session = db.sessions()
    try:
        assert audit_log.append_in(session, [event(1), event(3)]) == [0, 1]
        session.rollback()
    finally:
        session.close()
    assert audit_log.append_sync([event(1)]) == [0]
    audit_log.checkpoint_now()
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert outcome.result.entries == 1


def test_append_after_commits_the_prepared_events_in_one_batch_with_others(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    """The prepare reads in the writer's transaction; a prepare that raises fails its own
    caller (with its own exception) and the rest of the batch still commits."""
    audit_log.start()
    seen: list[int] = []

    def prepare(n: int) -> Callable[[Session], list[AuditEvent]]:
        def run(session: Session) -> list[AuditEvent]:
            seen.append(session.execute(text("SELECT 1")).scalar_one())
            if n == 7:
                raise ValueError("a bad request")
            return [event(n), event(n + 100)]

        return run

    async def burst() -> list[list[int] | BaseException]:
        return await asyncio.gather(
            *(audit_log.append_after(prepare(n)) for n in range(20)),
            *(audit_log.append([event(n)]) for n in range(200, 210)),
            return_exceptions=True,
        )

    results = asyncio.run(burst())
    audit_log.stop()
    failed = results[7]
    assert isinstance(failed, ValueError)
    committed = [r for i, r in enumerate(results) if i != 7]
    assert all(isinstance(r, list) for r in committed), committed
    seqs = sorted(s for r in committed if isinstance(r, list) for s in r)
    assert seqs == list(range(19 * 2 + 10))
    assert len(seen) >= 20
    audit_log.checkpoint_now()
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert outcome.result.verified_size == 48


def test_a_prepare_that_raises_a_base_exception_fails_alone_and_the_writer_lives_on(
    audit_log: AuditLog,
) -> None:
    """A ``CancelledError`` (a ``BaseException``, not an ``Exception``) out of the checks
    is that request's failure: it gets ``AuditUnavailable`` at once, the rest of its
    batch commits and the writer keeps group-committing. Before: the exception ended the
    writer thread, every request of the batch waited out its timeout and each later
    append ran alone, without group commit."""
    audit_log.start()

    def prepare(n: int) -> Callable[[Session], list[AuditEvent]]:
        def run(_session: Session) -> list[AuditEvent]:
            if n == 3:
                raise asyncio.CancelledError
            return [event(n)]

        return run

    async def burst() -> list[list[int] | BaseException]:
        return await asyncio.gather(
            *(audit_log.append_after(prepare(n)) for n in range(8)),
            return_exceptions=True,
        )

    results = asyncio.run(burst())
    assert isinstance(results[3], AuditUnavailable), results[3]
    assert "CancelledError" in str(results[3])
    committed = [r for i, r in enumerate(results) if i != 3]
    assert all(isinstance(r, list) for r in committed), committed
    assert audit_log._writer is not None and audit_log._writer.is_alive()
    assert asyncio.run(audit_log.append([event(9)])) == [7]
    audit_log.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_when_the_writer_thread_ends_its_callers_are_told_at_once(audit_log: AuditLog) -> None:
    """``SystemExit`` in the writer (the process ending) fails its batch and the queue
    closed at once ("audit writer stopped") instead of leaving each caller to wait out
    its timeout; a later append finds no writer and commits in its own transaction."""
    audit_log.start()

    def ending(_session: Session) -> list[AuditEvent]:
        raise SystemExit

    with pytest.raises(AuditUnavailable, match="writer stopped"):
        asyncio.run(audit_log.append_after(ending))
    assert audit_log._writer is not None
    audit_log._writer.join(timeout=5)
    assert not audit_log._writer.is_alive()
    assert asyncio.run(audit_log.append([event(1)])) == [0]
    audit_log.stop()


def test_append_after_carries_the_callers_trace_and_works_without_a_writer(
    audit_log: AuditLog, db: Database
) -> None:
    tracer = TracerProvider().get_tracer("test")

    async def traced() -> tuple[list[int], int]:
        with tracer.start_as_current_span("query") as span:
            seqs = await audit_log.append_after(lambda _session: [event(3)])
            return seqs, span.get_span_context().trace_id

    seqs, trace_id = asyncio.run(traced())  # no writer started: its own transaction
    assert seqs == [0]
    with db.session() as session:
        entry = json.loads(session.scalars(select(AuditEntry.body)).one())
    assert entry["trace_id"] == format(trace_id, "032x")

    def broken(_session: Session) -> list[AuditEvent]:
        raise KeyError("not a schema problem")

    with pytest.raises(KeyError):
        asyncio.run(audit_log.append_after(broken))


def test_append_after_fails_closed_on_a_storage_error(audit_log: AuditLog) -> None:
    audit_log.start()

    def storage_fails(session: Session) -> list[AuditEvent]:
        session.execute(text("SELECT * FROM no_such_table"))
        return [event(1)]

    with pytest.raises(AuditUnavailable):
        asyncio.run(audit_log.append_after(storage_fails))
    assert asyncio.run(audit_log.append([event(2)])) == [0]  # the writer lives on


def test_a_prepare_whose_write_the_database_refuses_fails_alone(
    audit_log: AuditLog, db: Database
) -> None:
    """A value the database refuses (too long for its column, NUL on PostgreSQL, a
    constraint) is the request's own data, not a database in doubt: a peer that can put
    such a value into the post-answer checks (its answer's ``consent_id`` lands in a
    withholding row) must not fail every other partner's query of the same group commit.
    That request fails closed (``AuditUnavailable``, nothing committed for it); the rest
    of the batch commits. Before: the whole batch got ``AuditUnavailable`` (branch review).
    """
    audit_log.start()
    refused = "INSERT INTO withholdings (subject_pseudonym, case_id, category, recipient, "
    refused += "ground, until, consent_id, created_by_party, created_at) VALUES "
    refused += "(:pseudonym, 'c', 'x', 'y', 'z', '2030-01-01', :consent, 'p', '2030-01-01')"
    # NOT NULL on both backends; on PostgreSQL also the peer's 41-character consent id
    # (String(40)) and a NUL, as a peer's answer could once carry into this row.
    bad: list[dict[str, str | None]] = [{"pseudonym": None, "consent": "oc-1"}]
    if db.is_postgresql:
        bad += [
            {"pseudonym": "p", "consent": "oc-" + "a" * 38},
            {"pseudonym": "p", "consent": "\x00"},
        ]

    def prepare(n: int, values: dict[str, str | None]) -> Callable[[Session], list[AuditEvent]]:
        def run(session: Session) -> list[AuditEvent]:
            if n == 3:
                session.execute(text(refused), values)
            return [event(n)]

        return run

    async def burst(values: dict[str, str | None]) -> list[list[int] | BaseException]:
        return await asyncio.gather(
            *(audit_log.append_after(prepare(n, values)) for n in range(8)),
            return_exceptions=True,
        )

    size = 0
    for values in bad:
        results = asyncio.run(burst(values))
        assert isinstance(results[3], AuditUnavailable), results[3]
        committed = [r for i, r in enumerate(results) if i != 3]
        assert all(isinstance(r, list) for r in committed), committed
        seqs = sorted(s for r in committed if isinstance(r, list) for s in r)
        assert seqs == list(range(size, size + 7))
        size += 7
    assert asyncio.run(audit_log.append([event(9)])) == [size]  # the writer lives on
