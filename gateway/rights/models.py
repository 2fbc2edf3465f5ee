"""The rights request table. The subject is a keyed pseudonym; free text is sealed.

``details`` and the decision's reasons are written by or about the person,
so they are sealed under the person's own data key (scope ``subject``):
erasing that key (crypto-shredding) makes them unreadable together with the
person's log entries (promise 7). The BSN is not stored at all: it is only
needed to forward the request, which happens while it is in memory.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime
from gateway.subjects.bsn import random_id

TS = UtcDateTime()


def new_request_id() -> str:
    return random_id("rr-")


class RightsRequest(Base):
    __tablename__ = "rights_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    convenant: Mapped[str] = mapped_column(String(100), nullable=False)
    subject_pseudonym: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    filed_by_party: Mapped[str | None] = mapped_column(String(100))
    filed_by_employee: Mapped[str | None] = mapped_column(String(200))
    responsible_party: Mapped[str] = mapped_column(String(100), nullable=False)
    source_party: Mapped[str | None] = mapped_column(String(100))
    cases_json: Mapped[str] = mapped_column(Text, nullable=False)
    records_json: Mapped[str] = mapped_column(Text, nullable=False)
    details_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    deadline: Mapped[datetime] = mapped_column(TS, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    decided_by_party: Mapped[str | None] = mapped_column(String(100))
    decided_by_employee: Mapped[str | None] = mapped_column(String(200))
    decision_reason_sealed: Mapped[str | None] = mapped_column(Text)
    forwarded_json: Mapped[str] = mapped_column(Text, nullable=False)
    covenants_json: Mapped[str | None] = mapped_column(Text)
    """Covenants a person's own caseless verzet covers (known at filing); NULL: ``convenant``."""
    first_deadline: Mapped[datetime | None] = mapped_column(TS)
    """The deadline before an extension (AVG art. 12(3)); NULL while not extended."""
    extended_at: Mapped[datetime | None] = mapped_column(TS)
    extended_by_party: Mapped[str | None] = mapped_column(String(100))
    extension_reason_sealed: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TS)
    representative: Mapped[str | None] = mapped_column(String(20))
    """``ouder``, ``voogd`` or ``gemachtigde`` when a representative filed it; NULL: the person."""
    execute_by: Mapped[datetime | None] = mapped_column(TS)
    """A granted correctie is carried out by then (covenant ``rights.correctie_execution``)."""
    executed_at: Mapped[datetime | None] = mapped_column(TS)
    peer_request: Mapped[str | None] = mapped_column(String(200))
    """A peer region's request id (channel ``peer``): one request per (filing party, this)."""

    __table_args__ = (
        Index("ix_rights_requests_subject_type", "subject_pseudonym", "type"),
        Index("ix_rights_requests_status_deadline", "status", "deadline"),
        Index("ux_rights_requests_peer_request", "filed_by_party", "peer_request", unique=True),
    )

    @property
    def cases(self) -> list[str]:
        return [str(case) for case in json.loads(self.cases_json)]

    @property
    def covenants(self) -> list[str]:
        """The covenants this request concerns (more than one only for the person's own verzet)."""
        if self.covenants_json is None:
            return [self.convenant]
        return [str(covenant) for covenant in json.loads(self.covenants_json)]

    @property
    def records(self) -> list[str]:
        return [str(record) for record in json.loads(self.records_json)]


class RequestSource(Base):
    """One joint controller an inzage was sent to, and its answer (sealed, like ``details``).

    ``records_sealed`` holds the records the source reported about the person,
    as JSON sealed under the person's own data key: erasing the person makes
    the copy unreadable with everything else about them.
    """

    __tablename__ = "rights_request_sources"

    request_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("rights_requests.id", ondelete="CASCADE"), nullable=False
    )
    party: Mapped[str] = mapped_column(String(100), nullable=False)
    convenant: Mapped[str] = mapped_column(String(100), nullable=False)
    forwarding: Mapped[str] = mapped_column(String(20), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(TS)
    record_count: Mapped[int | None] = mapped_column(Integer)
    records_sealed: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (PrimaryKeyConstraint("request_id", "party"),)


class PartnerWithholding(Base):
    """A source party withholds its disclosures in one case and category (UAVG art. 41).

    Only identifiers: the person's keyed pseudonym, never a BSN. ``until`` is
    capped by the covenant's ``rights.withheld_max`` when it is recorded.
    """

    __tablename__ = "rights_withholdings"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subject_pseudonym: Mapped[str] = mapped_column(String(64), nullable=False)
    convenant: Mapped[str] = mapped_column(String(100), nullable=False)
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    source: Mapped[str] = mapped_column(String(100), nullable=False)
    ground: Mapped[str] = mapped_column(String(40), nullable=False)
    until: Mapped[date] = mapped_column(Date, nullable=False)
    created_by_employee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)

    __table_args__ = (Index("ix_rights_withholdings_subject", "subject_pseudonym", "until"),)
