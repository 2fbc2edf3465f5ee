"""One row per recorded legal ground; withdrawal is recorded on the same row.

The row keeps who recorded the ground and on what document (the signed form,
the documented weighing), so an auditor can follow a disclosure back to its
ground. ``subject_pseudonym`` ties it to the person (erasure, /mijn); lists
are JSON text so the table is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.subjects.bsn import random_id


def new_ground_id() -> str:
    return random_id("gr-")


class CaseGround(Base):
    __tablename__ = "case_grounds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    subject_ref: Mapped[str] = mapped_column(String(20), nullable=False)
    subject_pseudonym: Mapped[str] = mapped_column(String(64), nullable=False)
    ground: Mapped[str] = mapped_column(String(40), nullable=False)
    article: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(Text, nullable=False)
    categories_json: Mapped[str] = mapped_column(Text, nullable=False)
    # NULL: every recipient the covenant's rules allow; else only these party ids.
    recipients_json: Mapped[str | None] = mapped_column(Text)
    valid_until: Mapped[date | None] = mapped_column(Date)
    recorded_by_party: Mapped[str] = mapped_column(String(100), nullable=False)
    recorded_by_employee: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A party id, or ``betrokkene`` when the person withdrew through /mijn.
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))
    withdrawn_by_employee: Mapped[str | None] = mapped_column(String(200))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_case_grounds_case", "case_id", "subject_ref"),
        Index("ix_case_grounds_subject", "subject_pseudonym"),
    )

    @property
    def categories(self) -> list[str]:
        return list(json.loads(self.categories_json))

    @property
    def recipients(self) -> list[str] | None:
        if self.recipients_json is None:
            return None
        return list(json.loads(self.recipients_json))
