"""What one (source, category) of a query came to: the answer's shape in API.md §3."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from gateway.brokering.minimise import DisclosedRecord

Status = Literal["ok", "denied", "pending_consent", "unavailable", "not_found"]
CopyEffect = Literal["bridge", "drop"]


@dataclass
class SourceResult:
    source: str | None
    category: str
    status: Status
    reason: str
    consent_id: str | None = None
    records: list[DisclosedRecord] | None = field(default=None, repr=False)
    trimmed_fields: int | None = None
    # The OvJ withheld this disclosure from the person's inzage until this day (UAVG
    # art. 41): the recipient must not tell the person, and a peer gateway records it.
    withheld_until: date | None = None
    # The recorded legal ground (API.md §2b) the disclosure rests on; named in the log.
    ground: str | None = None
    # Records left out because a pending correctie contests them and the covenant
    # withholds contested records (``rights.contested: withhold``, AVG art. 18(1)(a)).
    contested_withheld: int | None = None
    # A peer's withholding recorded here with this answer, up to this day: named in the
    # disclosure's log entry (``withholding_kept``), which backs the row in ``audit verify``.
    # Not part of the answer.
    withholding_kept: date | None = None
    # What this answer does to the slot's kept copies (docs/retention.md), not part of
    # the answer: ``bridge`` the source said nothing at all (timeout, no connection,
    # 5xx), an unexpired copy may stand in; ``drop`` the source itself answered and not
    # with records (not found, refused, a peer's denial or pending consent): its copies go.
    copies: CopyEffect | None = None

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "source": self.source,
            "category": self.category,
            "status": self.status,
            "reason": self.reason,
        }
        if self.consent_id is not None:
            body["consent_id"] = self.consent_id
        if self.withheld_until is not None:
            body["withheld_until"] = self.withheld_until.isoformat()
        if self.contested_withheld:
            body["contested_withheld"] = self.contested_withheld
        if self.records is not None:
            body["records"] = [record.as_json() for record in self.records]
        return body
