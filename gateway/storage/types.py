"""One column type for moments: always timezone-aware UTC, on SQLite and PostgreSQL alike.

SQLite hands back naive datetimes (it stores no offset), PostgreSQL aware ones;
every capability used to patch that with its own ``_aware`` helper. This type
does it once at the column: a value read is aware UTC, a value written is
turned into UTC first (a naive one is taken to be UTC already, as the gateway
only ever makes UTC moments), so comparisons in SQL and in Python agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that reads and writes aware UTC (same DDL, no migration)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return as_utc(value)
