"""What the gateway asks a source and what it gets back, independent of transport.

Field values and BSNs are personal data: the dataclasses keep them out of
`repr`, so a stray log of a request or result shows ids and counts only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from gateway.subjects.bsn import Bsn

JsonScalar = str | int | float | bool | None
JsonValue = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class Requester:
    """The party and the employee on whose behalf the gateway asks."""

    party: str
    employee: str


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """One need-to-know look-up about one subject, for permitted categories only.

    `traceparent` is a fallback for callers outside an OpenTelemetry span; when a
    span is active its context is propagated instead.
    """

    subject: Bsn
    categories: tuple[str, ...]
    convenant: str
    purpose: str
    case: str
    requester: Requester
    traceparent: str | None = None
    phase: str | None = None
    # (code, text) of a query for criminal data; only a peer gateway reads it.
    motivation: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One record from a source's bronregistratie, fields as the source sent them."""

    id: str
    category: str
    updated: datetime
    fields: Mapping[str, JsonValue] = field(repr=False)
    contested: bool = False
    """A peer Ketenpoort marked it: a correctie of it is pending there (API.md §3)."""


RemoteStatus = Literal["ok", "denied", "pending_consent", "unavailable", "not_found"]


@dataclass(frozen=True, slots=True)
class RemoteOutcome:
    """How a source that is itself a gateway answered one category (federation).

    Such a source decides under its own covenant, so besides records it can
    answer `denied` or `pending_consent` (its OvJ's consent request id).
    """

    status: RemoteStatus
    reason: str
    consent_id: str | None = None
    # The peer OvJ withheld the disclosure from the person's inzage until this day.
    withheld_until: date | None = None
    # ``unavailable`` because the peer itself said nothing at all (timeout, unreachable,
    # 429/5xx), not its answer (nor its relay of a source of its own): a copy may bridge it.
    no_answer: bool = False


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The source's answer; records are untrimmed (minimisation is the broker's job).

    `remote_outcomes` is empty except for a peer gateway, which reports per
    category what its own broker decided.
    """

    subject_known: bool
    records: Sequence[Record] = field(repr=False)
    remote_outcomes: Mapping[str, RemoteOutcome] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeletionEvent:
    """A source deleted a record; every derived copy in Ketenpoort must go (promise 8)."""

    record_id: str
    subject: Bsn
    category: str
    deleted_at: datetime


@dataclass(frozen=True, slots=True)
class DeletionPage:
    """Events after a cursor; poll again with `next` (unchanged when nothing new)."""

    events: Sequence[DeletionEvent]
    next: str | None


RightsRequestType = Literal["inzage", "correctie", "verzet"]


RightsRequestOrigin = Literal["local", "peer"]


@dataclass(frozen=True, slots=True)
class ForwardedRightsRequest:
    """A correctie or verzet Ketenpoort passes to the source that holds the records.

    ``convenant`` and ``purpose`` say under which covenant and purpose a peer
    gateway is asked (its token's scope); a Source API source ignores them.
    ``origin`` is ``peer`` when the request itself came from a peer region:
    such a request goes one hop only, never on to another peer.
    """

    id: str
    type: RightsRequestType
    subject: Bsn
    records: tuple[str, ...]
    details: str = field(repr=False)
    deadline: date
    convenant: str | None = None
    purpose: str | None = None
    origin: RightsRequestOrigin = "local"


@dataclass(frozen=True, slots=True)
class PeerRightsReceipt:
    """A peer region filed our forwarded request as its own request ``id``."""

    id: str
    status: str


@dataclass(frozen=True, slots=True)
class PeerRightsOutcome:
    """Where a peer region's request (filed for ours) stands: its status and dates."""

    id: str
    status: str
    decided_at: datetime | None = None
    execute_by: datetime | None = None
    executed_at: datetime | None = None
