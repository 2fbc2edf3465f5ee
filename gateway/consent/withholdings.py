"""Disclosures withheld from the person's inzage until a date (UAVG art. 41 lid 1 sub d).

The OvJ may grant consent on condition that the person does not learn of the
disclosures yet (``withheld_until``). That condition must outlive the consent
row: the register row goes when the consent expires (retention rule
``consents``) or with its case, while the log entries of criminal disclosures
stay readable for at least four years (Wjsg art. 39j). So the withholding is
kept here, one row per (person, case, category, recipient), written in the
grant's transaction, read by inzage, and removed by its own retention rule
only once ``until`` has passed.

A row holds identifiers only: the subject's keyed pseudonym, never a BSN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Literal

from sqlalchemy import BigInteger, Date, Index, Integer, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.storage.base import Base
from gateway.storage.connection_of import connection_of
from gateway.storage.precompiled import Precompiled
from gateway.storage.types import UtcDateTime

# The ground codes API.md §6 names for a withholding; the OvJ's is always an investigation.
GROUND_INVESTIGATION = "lopend_onderzoek"


class Withholding(Base):
    __tablename__ = "withholdings"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subject_pseudonym: Mapped[str] = mapped_column(String(64), nullable=False)
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    recipient: Mapped[str] = mapped_column(String(100), nullable=False)
    ground: Mapped[str] = mapped_column(String(40), nullable=False)
    until: Mapped[date] = mapped_column(Date, nullable=False)
    consent_id: Mapped[str | None] = mapped_column(String(40))
    created_by_party: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_withholdings_subject", "subject_pseudonym", "until"),
        Index("ix_withholdings_until", "until"),
    )


# The key of a disclosure entry that names the party a withholding is about.
RECIPIENT: Final = "party"  # the OvJ's (here): what one recipient was given
SOURCE: Final = "source"  # a source party's own (gateway/rights/withholding.py): what it gave


@dataclass(frozen=True)
class DisclosureHold:
    """Disclosures of one case and category withheld from the inzage while today < ``until``.

    What inzage matches a disclosure entry against, for both kinds of
    withholding: ``party`` is compared with the entry's ``role`` key, the
    recipient (:data:`RECIPIENT`) or the source (:data:`SOURCE`).
    """

    case: str
    category: str
    role: Literal["party", "source"]
    party: str
    ground: str
    until: date

    def covers(self, entry: dict[str, object]) -> bool:
        return (
            entry.get("case") == self.case
            and entry.get("category") == self.category
            and entry.get(self.role) == self.party
        )


def record_withholdings(
    session: Session,
    *,
    subject_pseudonym: str,
    case_id: str,
    categories: Sequence[str],
    recipients: Sequence[str],
    until: date,
    consent_id: str | None,
    party: str,
    ground: str = GROUND_INVESTIGATION,
) -> None:
    """One row per (category, recipient): each is matched against disclosure entries."""
    now = datetime.now(UTC)
    for category in sorted(set(categories)):
        for recipient in sorted(set(recipients)):
            session.add(
                Withholding(
                    subject_pseudonym=subject_pseudonym,
                    case_id=case_id,
                    category=category,
                    recipient=recipient,
                    ground=ground,
                    until=until,
                    consent_id=consent_id,
                    created_by_party=party,
                    created_at=now,
                )
            )
    session.flush()


def active_withholdings(session: Session, pseudonym: str, today: date) -> list[DisclosureHold]:
    """Withholdings of this person still in force: withheld while ``today < until``."""
    rows = session.execute(
        select(
            Withholding.case_id,
            Withholding.category,
            Withholding.recipient,
            Withholding.ground,
            Withholding.until,
        ).where(Withholding.subject_pseudonym == pseudonym, Withholding.until > today)
    )
    return [
        DisclosureHold(case, category, RECIPIENT, recipient, ground, until)
        for case, category, recipient, ground, until in rows
    ]


_WITHHOLDINGS = Withholding.__table__
# Asked for every result of a query: built once (Core, compiled form cached).
_WITHHELD_UNTIL = Precompiled(
    select(_WITHHOLDINGS.c.until)
    .where(
        _WITHHOLDINGS.c.subject_pseudonym == bindparam("pseudonym"),  # ix_withholdings_subject
        _WITHHOLDINGS.c.case_id == bindparam("case_id"),
        _WITHHOLDINGS.c.category == bindparam("category"),
        _WITHHOLDINGS.c.recipient == bindparam("recipient"),
        _WITHHOLDINGS.c.until > bindparam("today"),
    )
    .order_by(_WITHHOLDINGS.c.until.desc())
    .limit(1)
)


def withheld_until(
    session: Session,
    *,
    subject_pseudonym: str,
    case_id: str,
    category: str,
    recipient: str,
    today: date,
) -> date | None:
    """The last day a disclosure of (case, category) to ``recipient`` is withheld, if any.

    Travels with the answer, so a peer gateway that passes the data on to its own
    partner withholds it from the person's inzage there as well (federation).
    """
    found: date | None = _WITHHELD_UNTIL.scalar(
        connection_of(session),
        {
            "pseudonym": subject_pseudonym,
            "case_id": case_id,
            "category": category,
            "recipient": recipient,
            "today": today,
        },
    )
    return found


def keep_peer_withholding(
    session: Session,
    *,
    subject_pseudonym: str,
    case_id: str,
    category: str,
    recipient: str,
    until: date,
    consent_id: str | None,
    party: str,
) -> date | None:
    """Record a peer OvJ's withholding here once (a later query repeats it).

    Returns ``until`` when this call wrote the row, ``None`` when one already covered it:
    the disclosure entry of this answer then names the day, so ``audit verify``
    (gateway/audit/withholding_check.py) finds the entry that backs the row.
    """
    known = session.scalar(
        select(Withholding.id).where(
            Withholding.subject_pseudonym == subject_pseudonym,
            Withholding.case_id == case_id,
            Withholding.category == category,
            Withholding.recipient == recipient,
            Withholding.until >= until,
        )
    )
    if known is not None:
        return None
    record_withholdings(
        session,
        subject_pseudonym=subject_pseudonym,
        case_id=case_id,
        categories=[category],
        recipients=[recipient],
        until=until,
        consent_id=consent_id,
        party=party,
    )
    return until
