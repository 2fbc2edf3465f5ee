"""Case tables. The subject is a keyed pseudonym; the BSN itself only sealed.

The sealed BSN is needed to ask sources (the Source API identifies people by
BSN); it is encrypted under the subject's data key, so erasing that key makes
it unreadable everywhere at once (promise 7 and 10).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_case_id() -> str:
    """``c-`` and 20 random Crockford base32 characters (100 bits): unguessable, no PII."""
    return "c-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


class CaseSubject(Base):
    __tablename__ = "case_subjects"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_bsn: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    convenant: Mapped[str] = mapped_column(String(100), nullable=False)
    purpose: Mapped[str] = mapped_column(String(100), nullable=False)
    subject_pseudonym: Mapped[str] = mapped_column(
        String(64), ForeignKey("case_subjects.pseudonym"), nullable=False
    )
    phase: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    opened_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    last_contact_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    participants: Mapped[list[CaseParticipant]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_cases_subject_pseudonym", "subject_pseudonym"),
        Index("ix_cases_status_closed_at", "status", "closed_at"),
    )


class CaseParticipant(Base):
    __tablename__ = "case_participants"

    case_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    party: Mapped[str] = mapped_column(String(100), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(100), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    case: Mapped[Case] = relationship(back_populates="participants")
