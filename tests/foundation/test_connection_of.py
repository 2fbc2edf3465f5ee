"""``connection_of``: the session's own connection, asked once per root transaction."""

from __future__ import annotations

from sqlalchemy import text

from gateway.storage.connection_of import connection_of
from gateway.storage.db import Database


def test_the_transactions_connection_and_a_fresh_one_after_commit_or_rollback(
    migrated_url: str,
) -> None:
    database = Database(migrated_url)
    try:
        with database.session() as session:
            first = connection_of(session)
            assert first is session.connection()
            assert connection_of(session) is first
            first.execute(text("SELECT 1"))
            session.commit()
            assert first.closed  # never handed out again
            after = connection_of(session)
            assert not after.closed
            assert after is session.connection()
            session.rollback()
            assert after.closed
            again = connection_of(session)
            assert not again.closed
            assert again is session.connection()
            assert again.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        database.dispose()
