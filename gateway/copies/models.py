"""The table of time-limited copies (covenant ``retention.copies``).

A copy is one minimised source record kept for one case, sealed under that
case's data key (promise 7): shredding the key or deleting the case makes it
unreadable, and the retention job deletes it at ``expires_at`` at the latest.
The surrogate ``id`` lets retention purge in key order, batch by batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime

TS = UtcDateTime()


class CachedCopy(Base):
    __tablename__ = "cached_copies"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    source: Mapped[str] = mapped_column(String(100), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    record_id: Mapped[str] = mapped_column(String(200), nullable=False)
    key_id: Mapped[str] = mapped_column(String(40), nullable=False)
    sealed: Mapped[str] = mapped_column(Text, nullable=False)
    stored_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(TS, nullable=False)

    __table_args__ = (
        UniqueConstraint(
            "case_id", "source", "category", "record_id", name="uq_cached_copies_slot"
        ),
        Index("ix_cached_copies_expires_at", "expires_at"),
        Index("ix_cached_copies_source_record", "source", "record_id"),
    )


class CopyDrop(Base):
    """When copies of a slot (``slot:<case>:<source>:<category>``) or of a source
    (``source:<party>``) last went.

    A query keeps its answers as copies only after its audit entry committed, so a
    source's later "no" (not found, refused, a deletion event) can drop the slot
    between that query's fetch and its keep. :meth:`CopyStore.keep` upserts the marks
    it depends on first, which serialises it with a concurrent drop on both
    databases, and keeps nothing that was fetched before a drop. ``dropped_at`` is
    NULL for a mark only a keep wrote; the ``copy_drops`` retention rule removes a
    mark once no query can still be in flight from before it.
    """

    __tablename__ = "cached_copy_drops"

    mark: Mapped[str] = mapped_column(String(256), primary_key=True)
    dropped_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
