"""The rights request table. The subject is a keyed pseudonym; free text is sealed.

``details`` and the decision's reasons are written by or about the person,
so they are sealed under the person's own data key (scope ``subject``):
erasing that key (crypto-shredding) makes them unreadable together with the
person's log entries (promise 7). The BSN is not stored at all: it is only
needed to forward the request, which happens while it is in memory.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime

TS = UtcDateTime()


def new_request_id() -> str:
    return "rr-" + secrets.token_hex(10)


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

    __table_args__ = (
        Index("ix_rights_requests_subject_type", "subject_pseudonym", "type"),
        Index("ix_rights_requests_status_deadline", "status", "deadline"),
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
