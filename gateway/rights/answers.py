"""Inzage to every joint controller: who it was sent to, who answered, who is late.

Under the WGS the partners of a ZVH are joint controllers with one contact
point (BGS art. 1.1): an inzage filed here is an inzage at every party with a
source in the covenant of each of the person's cases, not only those that
disclosed. Each gets the request (Source API ``POST /rights-requests``) and
answers with the records it holds about the person — at once (``200`` with
``records``) or later through ``POST /v1/rights-requests/{id}/answer``.

A source that has not answered by the request's deadline (the extended one,
when extended) is ``late``: the person sees that, and the privacy officer's
overdue list counts it. The records are sealed under the person's own data
key (like the request's free text), so they go with the person's erasure, and
only the person (or their representative) ever sees them opened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors import Record
from gateway.rights.models import RequestSource, RightsRequest
from gateway.rights.sealing import RequestSealer
from gateway.storage.types import as_utc

SENT, ANSWERED, LATE = "sent", "answered", "late"


@dataclass(frozen=True)
class SourceStatus:
    """One joint controller's part of an inzage, as of a moment."""

    party: str
    convenant: str
    status: str
    forwarding: str
    answered_at: datetime | None
    record_count: int | None


@dataclass(frozen=True)
class AnsweredRecord:
    id: str
    category: str
    updated: str
    fields: dict[str, Any]


def record_json(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "category": record.category,
        "updated": as_utc(record.updated).isoformat(),
        "fields": dict(record.fields),
    }


def status_of(row: RequestSource, deadline: datetime, now: datetime) -> str:
    if row.answered_at is not None:
        return ANSWERED
    return LATE if deadline < now else SENT


def sources_of(session: Session, request: RightsRequest, now: datetime) -> list[SourceStatus]:
    rows = session.scalars(
        select(RequestSource)
        .where(RequestSource.request_id == request.id)
        .order_by(RequestSource.party)
    )
    deadline = request.deadline
    return [
        SourceStatus(
            party=row.party,
            convenant=row.convenant,
            status=status_of(row, deadline, now),
            forwarding=row.forwarding,
            answered_at=row.answered_at,
            record_count=row.record_count,
        )
        for row in rows
    ]


def seal_records(
    sealer: RequestSealer,
    session: Session,
    request: RightsRequest,
    party: str,
    records: Sequence[dict[str, Any]],
) -> str:
    return sealer.seal(
        session, request.subject_pseudonym, request.id, f"answer:{party}", json.dumps(records)
    )


def open_records(
    sealer: RequestSealer, session: Session, row: RequestSource
) -> list[AnsweredRecord] | None:
    """The answered records, or ``None`` (not answered, or the person's key is erased)."""
    text = sealer.open(session, row.request_id, f"answer:{row.party}", row.records_sealed)
    if text is None:
        return None
    return [
        AnsweredRecord(
            id=str(item["id"]),
            category=str(item["category"]),
            updated=str(item["updated"]),
            fields=dict(item["fields"]),
        )
        for item in json.loads(text)
    ]


@dataclass(frozen=True)
class SourceAnswer:
    party: str
    convenant: str
    status: str
    answered_at: datetime | None
    records: list[AnsweredRecord] | None


@dataclass(frozen=True)
class SourceAnswers:
    """One inzage request of the person and what each joint controller answered."""

    request_id: str
    received_at: datetime
    deadline: datetime
    sources: list[SourceAnswer]


def person_answers(session: Session, sealer: RequestSealer, pseudonym: str) -> list[SourceAnswers]:
    requests = session.scalars(
        select(RightsRequest)
        .where(
            RightsRequest.subject_pseudonym == pseudonym,
            RightsRequest.type == "inzage",
            RightsRequest.withdrawn_at.is_(None),
        )
        .order_by(RightsRequest.received_at.desc())
    ).all()
    now = datetime.now(UTC)
    found = []
    for request in requests:
        deadline = request.deadline
        rows = session.scalars(
            select(RequestSource)
            .where(RequestSource.request_id == request.id)
            .order_by(RequestSource.party)
        ).all()
        found.append(
            SourceAnswers(
                request_id=request.id,
                received_at=request.received_at,
                deadline=deadline,
                sources=[
                    SourceAnswer(
                        party=row.party,
                        convenant=row.convenant,
                        status=status_of(row, deadline, now),
                        answered_at=row.answered_at,
                        records=open_records(sealer, session, row),
                    )
                    for row in rows
                ],
            )
        )
    return found
