"""Informatieplicht register (AVG art. 13/14, model covenant art. 10).

The person is told about the processing — purposes, controller, their rights —
before data about them is recorded, or the partnership records why not (an
exception with its ground) and when that is reviewed. One row per statement;
the latest per (case, subject) counts. A "not informed" whose ``review_on``
has passed appears in the privacy officer's overdue list until a newer
statement replaces it. Rows hold identifiers only (the case id, the subject
ref within the case — ``s1``, or ``s2``… in a household case — never a BSN);
retention removes them with their case (gateway/retention/case_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    String,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.audit.events import AuditEvent
from gateway.cases.models import Case, CaseSubjectRef
from gateway.problems import NotFound, Unprocessable
from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime

MAIN_SUBJECT = "s1"
NOTICE_GROUNDS = (
    "onevenredige_inspanning",  # AVG art. 14(5)(b)
    "wettelijke_geheimhouding",  # AVG art. 14(5)(d)
    "uavg_41",  # a limitation under UAVG art. 41 (e.g. a running investigation)
    "reeds_geinformeerd",  # AVG art. 13(4)/14(5)(a): the person already has it
)
HowInformed = Literal["mondeling", "brief", "email", "folder", "portaal"]


class Notice(Base):
    __tablename__ = "rights_notices"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    convenant: Mapped[str] = mapped_column(String(100), nullable=False)
    subject_ref: Mapped[str] = mapped_column(String(10), nullable=False)
    informed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    how: Mapped[str | None] = mapped_column(String(20))
    informed_on: Mapped[date | None] = mapped_column(Date)
    ground: Mapped[str | None] = mapped_column(String(40))
    review_on: Mapped[date | None] = mapped_column(Date)
    by_party: Mapped[str] = mapped_column(String(100), nullable=False)
    by_employee: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_rights_notices_case_subject", "case_id", "subject_ref", "id"),
        Index("ix_rights_notices_review", "informed", "review_on"),
    )


@dataclass(frozen=True)
class NoticeStatement:
    subject: str
    informed: bool
    how: str | None = None
    at: date | None = None
    ground: str | None = None
    review_on: date | None = None


class NoticeRefused(Unprocessable):
    slug = "notice-refused"
    title = "The informatieplicht statement is incomplete or inconsistent"


def _subject_pseudonym(session: Session, case: Case, ref: str) -> str:
    """The case subject a ref names: ``s1`` the main subject, ``s2``… a household member.

    A ref the case does not know, or whose subject has been shredded, is refused.
    """
    if ref == MAIN_SUBJECT:
        return case.subject_pseudonym
    pseudonym = session.scalar(
        select(CaseSubjectRef.pseudonym).where(
            CaseSubjectRef.case_id == case.id, CaseSubjectRef.ref == ref
        )
    )
    if pseudonym is None:
        raise NoticeRefused(extensions={"reason": "unknown_subject"})
    return pseudonym


def _check(statement: NoticeStatement, today: date) -> None:
    if statement.informed:
        if statement.how is None or statement.at is None or statement.at > today:
            raise NoticeRefused(extensions={"reason": "how_and_at_required"})
        if statement.ground is not None or statement.review_on is not None:
            raise NoticeRefused(extensions={"reason": "mixed"})
        return
    if statement.ground not in NOTICE_GROUNDS or statement.review_on is None:
        raise NoticeRefused(extensions={"reason": "ground_and_review_required"})
    if statement.how is not None or statement.at is not None:
        raise NoticeRefused(extensions={"reason": "mixed"})
    if statement.review_on <= today:
        raise NoticeRefused(extensions={"reason": "review_in_past"})


def record_notice(
    session: Session,
    *,
    case_id: str,
    party: str,
    employee: str | None,
    covenant: str,
    statement: NoticeStatement,
) -> tuple[Notice, AuditEvent]:
    """A participant of the case records whether and how the subject was informed."""
    case = session.get(Case, case_id)
    if case is None or case.convenant != covenant:
        raise NotFound(detail="No such case.")
    if party not in {p.party for p in case.participants}:
        raise NotFound(detail="No such case.")
    now = datetime.now(UTC)
    _check(statement, now.date())
    pseudonym = _subject_pseudonym(session, case, statement.subject)
    row = Notice(
        case_id=case_id,
        convenant=covenant,
        subject_ref=statement.subject,
        informed=statement.informed,
        how=statement.how,
        informed_on=statement.at,
        ground=statement.ground,
        review_on=statement.review_on,
        by_party=party,
        by_employee=employee,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    event = AuditEvent(
        kind="rights",
        outcome="informed" if statement.informed else "not_informed",
        party=party,
        employee=employee,
        encrypt_employee=employee is not None,
        convenant=covenant,
        case=case_id,
        reason=statement.ground,
        subject_pseudonym=pseudonym,
        subject_scope="case",
        details={
            "notice": row.id,
            "subject_ref": statement.subject,
            "how": statement.how,
            "review_on": statement.review_on.isoformat() if statement.review_on else None,
        },
    )
    return row, event


def overdue_reviews(session: Session, covenants: tuple[str, ...], today: date) -> list[Notice]:
    """Latest statements per (case, subject) that say "not informed" with a passed review."""
    latest = (
        select(func.max(Notice.id))
        .where(Notice.convenant.in_(covenants))
        .group_by(Notice.case_id, Notice.subject_ref)
    )
    return list(
        session.scalars(
            select(Notice)
            .where(
                Notice.id.in_(latest),
                Notice.informed.is_(False),
                Notice.review_on < today,
            )
            .order_by(Notice.review_on)
        )
    )
