"""The writer's in-memory Merkle frontier: no subtree reads per append, and always the stored tree.

Statements are counted with an SQLAlchemy event listener (no timing): an append
in steady state reads no subtree and no entry back, whatever the batch size.
The frontier must equal the tree in the database after a restart, after another
writer appended, and after a rolled-back ``append_in``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text

from gateway.audit.core import merkle
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import SqlNodeStore, head_size
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.audit.conftest import event

# UPDATE head, the data-key check, and the inserts: one per table on SQLite, one
# statement for all three on PostgreSQL.
STATEMENTS_PER_APPEND = {"sqlite": 5, "postgresql": 3}


@contextmanager
def recorded(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)


def reads_tree(statement: str) -> bool:
    """A SELECT of stored subtrees or leaf hashes: what the frontier makes unnecessary."""
    return statement.startswith("select") and (
        "audit_nodes" in statement or "audit_entries" in statement
    )


def stored_root(db: Database) -> tuple[int, bytes]:
    with db.session() as session:
        size = head_size(session)
        return size, merkle.root(size, SqlNodeStore(session))


def assert_frontier_is_stored_tree(log: AuditLog, db: Database) -> None:
    edge = log.frontier.current()
    assert edge is not None
    size, root = stored_root(db)
    assert edge.size == size
    assert edge.root() == root


def test_steady_state_appends_read_no_subtrees(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(n) for n in range(6)])  # start: the one rebuild; every data key
    assert audit_log.frontier.rebuilds == 1
    with recorded(db) as statements:
        for size in (1, 2, 3, 7, 64, 1):
            before = len(statements)
            audit_log.append_sync([event(n) for n in range(size)])
            batch = statements[before:]
            assert not [s for s in batch if reads_tree(s)], batch
            assert len(batch) <= STATEMENTS_PER_APPEND[db.engine.dialect.name], "\n".join(batch)
    assert audit_log.frontier.rebuilds == 1
    assert_frontier_is_stored_tree(audit_log, db)


def test_group_commit_reads_no_subtrees(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(0)])
    audit_log.start()

    async def callers() -> None:
        await asyncio.gather(*(audit_log.append([event(n)]) for n in range(64)))

    with recorded(db) as statements:
        asyncio.run(callers())
    audit_log.stop()
    assert not [s for s in statements if reads_tree(s)]
    assert audit_log.frontier.rebuilds == 1
    assert_frontier_is_stored_tree(audit_log, db)


def test_a_restarted_writer_rebuilds_once_from_the_stored_subtrees(
    settings: Settings, db: Database, signer: Ed25519Signer
) -> None:
    first = build_audit_log(settings, db, signer)
    for n in range(13):  # sizes with several set bits, so the edge has many subtrees
        first.append_sync([event(i) for i in range(n % 4 + 1)])
    second = build_audit_log(settings, db, signer)
    assert second.frontier.current() is None
    with recorded(db) as statements:
        second.append_sync([event(99)])
    assert second.frontier.rebuilds == 1
    assert 1 <= sum(1 for s in statements if reads_tree(s)) <= 2  # subtrees, and a leaf when odd
    assert_frontier_is_stored_tree(second, db)


def test_losing_the_head_to_another_writer_rebuilds_the_edge(
    settings: Settings, db: Database, signer: Ed25519Signer
) -> None:
    one = build_audit_log(settings, db, signer)
    two = build_audit_log(settings, db, signer)
    one.append_sync([event(n) for n in range(3)])
    two.append_sync([event(n) for n in range(5)])
    one.append_sync([event(n) for n in range(2)])  # the head moved under ``one``
    assert one.frontier.rebuilds == 2
    assert_frontier_is_stored_tree(one, db)
    one.append_sync([event(7)])  # its own commit again: no read
    assert one.frontier.rebuilds == 2
    two.append_sync([event(8)])
    assert two.frontier.rebuilds == 2
    assert_frontier_is_stored_tree(two, db)
    one.checkpoint_now()
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert outcome.head_size == 12


def test_a_rolled_back_append_in_does_not_advance_the_frontier(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    audit_log.append_sync([event(n) for n in range(3)])
    session = db.sessions()
    try:
        audit_log.append_in(session, [event(n) for n in range(4)])
        session.rollback()
    finally:
        session.close()
    assert_frontier_is_stored_tree(audit_log, db)
    with db.session() as session:
        audit_log.append_in(session, [event(9)])  # committed, but by the caller
    audit_log.append_sync([event(10)])  # finds the head moved: rebuilds once
    assert_frontier_is_stored_tree(audit_log, db)
    audit_log.checkpoint_now()
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert outcome.head_size == 5


def test_a_checkpoint_takes_its_root_from_the_committed_edge(
    settings: Settings, db: Database, signer: Ed25519Signer
) -> None:
    """At the writer's own size the signed root comes from memory, no subtree read;
    after another writer moved the head it is read from the store, and both verify."""
    one = build_audit_log(settings, db, signer)
    two = build_audit_log(settings, db, signer)
    one.append_sync([event(n) for n in range(11)])
    with recorded(db) as statements:
        head = one.checkpoint_now()
    assert head is not None
    assert not [s for s in statements if reads_tree(s)], statements
    assert (head.size, head.root_hash) == (11, stored_root(db)[1].hex())
    two.append_sync([event(n) for n in range(6)])  # ``one``'s edge is now behind the head
    with recorded(db) as statements:
        head = one.checkpoint_now()
    assert head is not None
    assert [s for s in statements if reads_tree(s)], statements
    assert (head.size, head.root_hash) == (17, stored_root(db)[1].hex())
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("same_as_connection", [True, False])
def test_the_head_lock_waits_at_most_the_writers_timeout(
    audit_log: AuditLog, db: Database, settings: Settings, same_as_connection: bool
) -> None:
    """The append's head lock is bounded by the writer's own timeout. Every connection
    is opened with ``lock_timeout`` = the database timeout: when the writer's is the
    same, no ``SET LOCAL`` is sent (a round trip per batch saved); otherwise it is."""
    timeout_s = settings.db_timeout_s if same_as_connection else settings.db_timeout_s / 4
    writer = AuditLog(db, audit_log.vault, None, timeout_s=timeout_s)
    with db.session() as session, recorded(db) as statements:
        writer.append_in(session, [event(1)])
        in_force = session.execute(
            text("SELECT extract(epoch FROM current_setting('lock_timeout')::interval)")
        ).scalar_one()
    assert float(in_force) == pytest.approx(timeout_s)
    sets = [s for s in statements if s.startswith("set local lock_timeout")]
    assert len(sets) == (0 if same_as_connection else 1), statements
