"""What callers get back: a rights request as the person, a partner or the FG sees it.

Free text (details, reasons) arrives already opened, or ``None`` once the
person has been erased; the pseudonym never leaves in JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.rights.models import RightsRequest
from gateway.rights.sealing import RequestSealer

DECISIONS = ("granted", "partially_granted", "refused")


@dataclass(frozen=True)
class Forwarding:
    """Whether the request reached one source: ``forwarded``, ``failed`` or ``unsupported``."""

    party: str
    status: str
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"party": self.party, "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class RequestView:
    id: str
    type: str
    convenant: str
    status: str
    channel: str
    received_at: datetime
    deadline: datetime
    responsible_party: str
    source_party: str | None
    filed_by_party: str | None
    cases: tuple[str, ...]
    records: tuple[str, ...]
    details: str | None
    decided_at: datetime | None
    decided_by_party: str | None
    decision_reason: str | None
    forwarded: tuple[Forwarding, ...]
    subject_pseudonym: str
    covenants: tuple[str, ...] = ()

    @property
    def decided(self) -> bool:
        return self.status in DECISIONS

    def overdue(self, now: datetime) -> bool:
        return not self.decided and self.deadline < now


def forwardings(row: RightsRequest) -> tuple[Forwarding, ...]:
    return tuple(
        Forwarding(str(item["party"]), str(item["status"]), item.get("reason"))
        for item in json.loads(row.forwarded_json)
    )


def view_of(
    session: Session, sealer: RequestSealer, row: RightsRequest, *, with_text: bool = True
) -> RequestView:
    """The row as a view; ``with_text=False`` skips opening the sealed text (lists for the FG)."""
    details = sealer.open(session, row.id, "details", row.details_sealed) if with_text else None
    reason = (
        sealer.open(session, row.id, "reason", row.decision_reason_sealed) if with_text else None
    )
    return RequestView(
        id=row.id,
        type=row.type,
        convenant=row.convenant,
        status=row.status,
        channel=row.channel,
        received_at=row.received_at,
        deadline=row.deadline,
        responsible_party=row.responsible_party,
        source_party=row.source_party,
        filed_by_party=row.filed_by_party,
        cases=tuple(row.cases),
        records=tuple(row.records),
        details=details,
        decided_at=row.decided_at if row.decided_at else None,
        decided_by_party=row.decided_by_party,
        decision_reason=reason,
        forwarded=forwardings(row),
        subject_pseudonym=row.subject_pseudonym,
        covenants=tuple(row.covenants),
    )
