"""Consent requests and the OvJ's decisions on them.

One row per request; the decision is recorded on the same row so that the
whole history of one request (asked, granted narrower, revoked) stays
together. Lists of categories and recipients are stored as JSON text so the
table is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime
from gateway.subjects.bsn import random_id


def new_consent_id() -> str:
    return random_id("oc-")


class ConsentRequest(Base):
    __tablename__ = "consent_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    convenant: Mapped[str] = mapped_column(String(100), nullable=False)
    purpose: Mapped[str] = mapped_column(String(100), nullable=False)
    recipient: Mapped[str] = mapped_column(String(100), nullable=False)
    case_phase: Mapped[str] = mapped_column(String(40), nullable=False)
    categories_json: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by_employee: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by_party: Mapped[str | None] = mapped_column(String(100))
    decided_by_employee: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    valid_until: Mapped[date | None] = mapped_column(Date)
    granted_categories_json: Mapped[str | None] = mapped_column(Text)
    granted_recipients_json: Mapped[str | None] = mapped_column(Text)
    withheld_until: Mapped[date | None] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by_employee: Mapped[str | None] = mapped_column(String(200))
    # Bumped whenever a pending request changes (categories added, case phase moved), so
    # a decision can name the version it was reviewed at (409 if it changed since).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    # The subject of the case the request is about (API.md §2a) and the requester's
    # motivation (code from the covenant's motivation_codes, free text) for the OvJ.
    subject_ref: Mapped[str] = mapped_column(
        String(20), nullable=False, default="s1", server_default="s1"
    )
    motivation_code: Mapped[str | None] = mapped_column(String(100))
    motivation_text: Mapped[str | None] = mapped_column(Text)
    # A grant narrowed to sources (NULL: every source) and to fields per category
    # (NULL or a category missing: every field the covenant rule lets out).
    granted_sources_json: Mapped[str | None] = mapped_column(Text)
    granted_fields_json: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_consent_requests_case_recipient", "case_id", "recipient", "status"),
        Index("ix_consent_requests_status", "status"),
    )

    @property
    def categories(self) -> list[str]:
        return list(json.loads(self.categories_json))

    @property
    def granted_categories(self) -> list[str]:
        return list(json.loads(self.granted_categories_json or "[]"))

    @property
    def granted_recipients(self) -> list[str]:
        return list(json.loads(self.granted_recipients_json or "[]"))

    @property
    def granted_sources(self) -> list[str] | None:
        if self.granted_sources_json is None:
            return None
        return list(json.loads(self.granted_sources_json))

    @property
    def granted_fields(self) -> dict[str, list[str]] | None:
        if self.granted_fields_json is None:
            return None
        loaded: dict[str, list[str]] = json.loads(self.granted_fields_json)
        return loaded
