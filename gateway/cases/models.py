"""Case tables. The subject is a keyed pseudonym; the BSN itself only sealed.

The sealed BSN is needed to ask sources (the Source API identifies people by
BSN); it is encrypted under the subject's data key, so erasing that key makes
it unreadable everywhere at once (promise 7 and 10).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime
from gateway.subjects.bsn import random_id

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_case_id() -> str:
    """``c-`` and 20 random Crockford base32 characters (100 bits): unguessable, no PII."""
    return random_id("c-", 20, _ID_ALPHABET)


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
    # The ZVH workflow (API.md §2a): who referred, what kind of case, where the person lives.
    referrer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    case_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    municipality: Mapped[str | None] = mapped_column(String(6), nullable=True)
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Triage: opgepakt | niet_opgepakt | doorverwezen, why, and who decided (party, employee).
    triage_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    triage_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    triage_referred_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    triage_decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    triage_employee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    triage_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Closure: a reason id from the covenant's closure_reasons and an optional note.
    closure_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    closure_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    participants: Mapped[list[CaseParticipant]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin"
    )
    subjects: Mapped[list[CaseSubjectRef]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CaseSubjectRef.position",
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


class CaseSubjectRef(Base):
    """One person of a (household) case: ``s1``, ``s2``, … with a role.

    Answers and logs name a subject only by ``ref`` and ``role``; the person is
    the pseudonym (the BSN sealed in :class:`CaseSubject`), so each subject is
    erased on its own. ``s1`` is the case's ``hoofdpersoon`` (``cases.subject_pseudonym``).
    A shredded subject keeps its row with ``pseudonym`` null: the ref stays taken.
    """

    __tablename__ = "case_subject_refs"

    case_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    ref: Mapped[str] = mapped_column(String(10), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(60), nullable=False)
    pseudonym: Mapped[str | None] = mapped_column(String(64), nullable=True)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    added_by: Mapped[str] = mapped_column(String(100), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    case: Mapped[Case] = relationship(back_populates="subjects")

    __table_args__ = (
        UniqueConstraint("case_id", "pseudonym", name="uq_case_subject_refs_case_pseudonym"),
        Index("ix_case_subject_refs_pseudonym", "pseudonym"),
    )


class CasePhaseChange(Base):
    """Every move of a case (phase change, triage, close): who, when, from where, why.

    The audit log holds the same with its proof; this table lets the reports
    count time per phase without reading the log.
    """

    __tablename__ = "case_phase_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
    )
    from_phase: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_phase: Mapped[str] = mapped_column(String(40), nullable=False)
    party: Mapped[str] = mapped_column(String(100), nullable=False)
    employee: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (Index("ix_case_phase_changes_case_at", "case_id", "at"),)


def main_subject(pseudonym: str, added_by: str, now: datetime) -> CaseSubjectRef:
    """``s1``, the hoofdpersoon: every case has one (``cases.subject_pseudonym``)."""
    return CaseSubjectRef(
        ref="s1",
        position=1,
        role="hoofdpersoon",
        pseudonym=pseudonym,
        birth_year=None,
        added_by=added_by,
        added_at=now,
    )


def subject_of(case_id: str, ref: str) -> Select[str | None]:
    """The pseudonym of a case's subject ``ref`` (``s1``, ``s2`` …); null once shredded.

    What is about one person of a household case (a consent request, its
    withholding, its log entries) must follow that person, not the hoofdpersoon.
    """
    return select(CaseSubjectRef.pseudonym).where(
        CaseSubjectRef.case_id == case_id, CaseSubjectRef.ref == ref
    )


def case_ids_of(pseudonym: str) -> Select[str]:
    """The ids of every case the person is a subject of, in any role (households too)."""
    return select(CaseSubjectRef.case_id).where(CaseSubjectRef.pseudonym == pseudonym)
