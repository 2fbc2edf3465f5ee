"""The Source API wire format (SOURCE-API.md) as strict pydantic models.

Both sides use these: the rest connector to build requests and check answers,
the demo sources to check requests. Types are strict (no "1" → 1 coercion):
an answer that does not have the documented shape is not trusted at all.
Always validate raw bytes with `model_validate_json` (strict mode accepts ISO
dates only from JSON). Unknown keys are ignored, so a source may add fields without breaking us,
and they are dropped here rather than passed on.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from connectors.models import DeletionEvent
from gateway.subjects.bsn import Bsn, is_valid_bsn


def _check_bsn(value: str) -> str:
    if not is_valid_bsn(value):
        raise ValueError("not a valid BSN")
    return value


BsnDigits = Annotated[str, AfterValidator(_check_bsn)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


# No NUL: PostgreSQL text cannot hold it (a NUL record id was a 500), and no id needs it.
# A plain check, not a ``pattern``: pydantic's regex made every lookup measurably slower.
Identifier = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
MAX_CURSOR_LENGTH = 1_024
# A source's feed cursor is stored as sent and sent back: no NUL (PostgreSQL refused it
# and every retention run stopped on the DataError), bounded like any other answer field.
FeedCursor = Annotated[str, Field(max_length=MAX_CURSOR_LENGTH), AfterValidator(_no_nul)]
MAX_PUSHED_DELETIONS = 1_000
"""Events per pushed batch: each is one audit entry, so a batch is bounded like a query."""


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class WireSubject(_Wire):
    bsn: BsnDigits = Field(repr=False)


class WireRequester(_Wire):
    party: Identifier
    employee: Identifier


class WireLookupRequest(_Wire):
    subject: WireSubject
    categories: list[Identifier] = Field(min_length=1, max_length=100)
    convenant: Identifier
    purpose: Identifier
    case: Identifier
    requester: WireRequester


class WireRecord(_Wire):
    id: Identifier
    category: Identifier
    updated: AwareDatetime
    fields: dict[str, JsonValue]


class WireLookupResult(_Wire):
    subject_known: bool
    records: list[WireRecord] = Field(max_length=10_000)


class WireDeletionEvent(_Wire):
    record_id: Identifier
    subject: WireSubject
    category: Identifier
    deleted_at: AwareDatetime


class WireDeletionPage(_Wire):
    events: list[WireDeletionEvent]
    next: FeedCursor | None


class WireDeletionPush(_Wire):
    """What a source pushes to `POST /v1/sources/{party}/deletions` (API.md §7)."""

    events: list[WireDeletionEvent] = Field(max_length=MAX_PUSHED_DELETIONS)


def to_deletion_event(wire: WireDeletionEvent) -> DeletionEvent:
    return DeletionEvent(
        record_id=wire.record_id,
        subject=Bsn(wire.subject.bsn),
        category=wire.category,
        deleted_at=wire.deleted_at,
    )


def parse_pushed_deletions(content: bytes) -> list[DeletionEvent]:
    """Validates a pushed deletion batch; raises pydantic.ValidationError, whose text
    quotes the input (BSNs): map it to a fixed message, never show it."""
    return [to_deletion_event(e) for e in WireDeletionPush.model_validate_json(content).events]


class WireRightsRequest(_Wire):
    id: Identifier
    type: Literal["inzage", "correctie", "verzet"]
    subject: WireSubject
    records: list[Identifier]
    details: str = Field(max_length=20_000)
    deadline: date


class WireRightsAnswer(_Wire):
    """A source's answer to a forwarded request; ``records`` only when it answers an inzage now.

    ``202`` (or no ``records``): received, answered later through the partner
    API (``POST /v1/rights-requests/{id}/answer``). ``200`` with ``records``:
    the inzage is answered in the same exchange.
    """

    records: list[WireRecord] | None = Field(default=None, max_length=10_000)


__all__ = [
    "MAX_CURSOR_LENGTH",
    "MAX_PUSHED_DELETIONS",
    "BsnDigits",
    "FeedCursor",
    "WireDeletionEvent",
    "WireDeletionPage",
    "WireDeletionPush",
    "WireLookupRequest",
    "WireLookupResult",
    "WireRecord",
    "WireRequester",
    "WireRightsAnswer",
    "WireRightsRequest",
    "WireSubject",
    "parse_pushed_deletions",
    "to_deletion_event",
]
