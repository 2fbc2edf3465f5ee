"""``Database.transaction``: one connection's transaction, the Session's machinery only if used.

Whether the unit ran only Core statements or the ORM too, it commits on
success and rolls everything back on an error, as ``Database.session`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, update

from gateway.audit.models import AuditHead
from gateway.storage.connection_of import connection_of
from gateway.storage.db import Database

_HEAD = AuditHead.__table__
_THEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    database = Database(migrated_url)
    try:
        yield database
    finally:
        database.dispose()


def _head(database: Database) -> tuple[int, datetime]:
    with database.engine.connect() as connection:
        size, moment = connection.execute(select(_HEAD.c.size, _HEAD.c.updated_at)).one()
        return size, moment


def test_core_only_commits_on_the_connection_without_an_orm_transaction(
    database: Database,
) -> None:
    with database.transaction() as session:
        connection = connection_of(session)
        assert connection is session.bind
        connection.execute(update(_HEAD).values(size=41))
        assert not session.in_transaction()  # nothing asked the Session
    assert _head(database)[0] == 41


def test_an_error_rolls_back_core_work(database: Database) -> None:
    before = _head(database)
    with pytest.raises(RuntimeError), database.transaction() as session:
        connection_of(session).execute(update(_HEAD).values(size=42))
        raise RuntimeError("fails")
    assert _head(database) == before


@pytest.mark.parametrize("fail", [False, True])
def test_orm_and_core_work_commit_or_roll_back_together(database: Database, fail: bool) -> None:
    before = _head(database)
    with pytest.raises(RuntimeError) if fail else _no_error(), database.transaction() as session:
        connection_of(session).execute(update(_HEAD).values(size=43))
        head = session.get(AuditHead, 1)
        assert head is not None
        head.updated_at = _THEN
        assert connection_of(session) is session.connection()  # one connection
        if fail:
            raise RuntimeError("fails")
    assert _head(database) == (before if fail else (43, _THEN))


def test_commit_listeners_run_even_without_orm_work(database: Database) -> None:
    committed: list[str] = []
    with database.transaction() as session:
        event.listen(session, "after_commit", lambda _s: committed.append("after"), once=True)
        connection_of(session).execute(update(_HEAD).values(size=44))
    assert committed == ["after"]
    assert _head(database)[0] == 44


def test_commit_listeners_on_the_session_class_added_later_run(database: Database) -> None:
    """The class-level listener lists are read once (``Database.__init__``) and stay live."""
    committed: list[str] = []

    def listener(_session: object) -> None:
        committed.append("after")

    event.listen(database.sessions, "after_commit", listener)
    try:
        with database.transaction() as session:
            connection_of(session).execute(update(_HEAD).values(size=45))
        assert committed == ["after"]
    finally:
        event.remove(database.sessions, "after_commit", listener)
    with database.transaction() as session:  # removed: unused again, the connection commits
        connection_of(session).execute(update(_HEAD).values(size=46))
    assert committed == ["after"]
    assert _head(database)[0] == 46


class _no_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_args: object) -> bool:
        return False
