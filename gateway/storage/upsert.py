"""``INSERT … ON CONFLICT`` in the dialect of a session's database.

PostgreSQL and SQLite both speak it, but SQLAlchemy builds it from each dialect's own
``insert`` (the generic one has no ``on_conflict_*``): the one place that picks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def conflict_insert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An insert into ``table`` (a mapped class or Table) that takes ``on_conflict_*``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
