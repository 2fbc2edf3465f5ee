"""What callers get back: a rights request as the person, a partner or the FG sees it.

Free text (details, reasons) arrives already opened, or ``None`` once the
person has been erased; the pseudonym never leaves in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from gateway.rights.models import RightsRequest
from gateway.rights.sealing import RequestSealer

if TYPE_CHECKING:
    from connectors import Record
    from gateway.rights.answers import SourceStatus

DECISIONS = ("granted", "partially_granted", "refused")


PEER_FIELDS = ("peer_request", "outcome", "outcome_at", "executed_at", "synced_at")
"""Optional keys of a forwarding to a peer region (its request id, the outcome pulled back)."""


@dataclass(frozen=True)
class Forwarding:
    """Whether the request reached one source: ``forwarded``, ``failed`` or ``unsupported``.

    For a peer region (a ``gateway`` source) also the peer's own request id
    and, once pulled back (``gateway/rights/peer_outcomes.py``), the peer's
    status (``outcome``), when it decided, when it carried a correctie out.
    """

    party: str
    status: str
    reason: str | None = None
    records: tuple[Record, ...] | None = field(default=None, repr=False, compare=False)
    """An inzage the source answered in the same exchange (never stored in the JSON)."""
    peer_request: str | None = None
    outcome: str | None = None
    outcome_at: str | None = None
    executed_at: str | None = None
    synced_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"party": self.party, "status": self.status, "reason": self.reason}
        for key in PEER_FIELDS:
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Forwarding:
        def text(key: str) -> str | None:
            value = item.get(key)
            return str(value) if value is not None else None

        return cls(
            str(item["party"]),
            str(item["status"]),
            item.get("reason"),
            peer_request=text("peer_request"),
            outcome=text("outcome"),
            outcome_at=text("outcome_at"),
            executed_at=text("executed_at"),
            synced_at=text("synced_at"),
        )


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
    first_deadline: datetime | None = None
    extended_at: datetime | None = None
    extended_by_party: str | None = None
    extension_reason: str | None = None
    withdrawn_at: datetime | None = None
    representative: str | None = None
    execute_by: datetime | None = None
    executed_at: datetime | None = None
    sources: tuple[SourceStatus, ...] = ()
    peer_request: str | None = None
    """Filed by a peer region: the peer's own request id (channel ``peer``)."""

    @property
    def decided(self) -> bool:
        return self.status in DECISIONS

    def overdue(self, now: datetime) -> bool:
        """Undecided past the (extended) deadline; a withdrawn request is never overdue."""
        return self.status == "pending" and self.deadline < now

    def execution_overdue(self, now: datetime) -> bool:
        """A granted correctie not reported carried out by ``execute_by``."""
        return self.execute_by is not None and self.executed_at is None and self.execute_by < now

    @property
    def late_sources(self) -> int:
        return sum(1 for source in self.sources if source.status == "late")


def for_parties(view: RequestView, parties: Collection[str]) -> RequestView:
    """An inzage as a partner or an officer sees it: the part of ``parties``, not who holds what.

    Which joint controller answered with how many records is personal data in
    itself: a count above zero at a GGZ or DJI source tells the reader the
    person is in care or in custody. So only the person (or their
    representative) sees every source and forwarding; a covenant's privacy
    officer sees those of its own covenant's parties (a person with cases in
    two covenants has their inzage sent to both: the other covenant's sources
    are not this officer's business); a partner — one that filed on the
    person's behalf, the deciding controller, a source answering — sees the
    request's own status and deadline and its own entry (whether it was
    reached, whether it answered), and ``late_sources`` counts only what is
    shown. Other types keep their forwardings: they go only to sources of the
    named cases.
    """
    if view.type != "inzage":
        return view
    return replace(
        view,
        sources=tuple(item for item in view.sources if item.party in parties),
        forwarded=tuple(item for item in view.forwarded if item.party in parties),
    )


def forwardings(row: RightsRequest) -> tuple[Forwarding, ...]:
    return tuple(Forwarding.from_json(item) for item in json.loads(row.forwarded_json))


def view_of(
    session: Session, sealer: RequestSealer, row: RightsRequest, *, with_text: bool = True
) -> RequestView:
    """The row as a view; ``with_text=False`` skips opening the sealed text (lists for the FG)."""
    details = sealer.open(session, row.id, "details", row.details_sealed) if with_text else None
    from gateway.rights.answers import sources_of  # lazily: answers imports this module

    reason = (
        sealer.open(session, row.id, "reason", row.decision_reason_sealed) if with_text else None
    )
    extension = (
        sealer.open(session, row.id, "extension", row.extension_reason_sealed)
        if with_text
        else None
    )
    now = datetime.now(UTC)
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
        first_deadline=row.first_deadline,
        extended_at=row.extended_at,
        extended_by_party=row.extended_by_party,
        extension_reason=extension,
        withdrawn_at=row.withdrawn_at,
        representative=row.representative,
        execute_by=row.execute_by,
        executed_at=row.executed_at,
        sources=tuple(sources_of(session, row, now)) if row.type == "inzage" else (),
        peer_request=row.peer_request,
    )
