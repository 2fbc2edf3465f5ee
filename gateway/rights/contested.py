"""Records under a correctie: marked while it is pending, the gateway's copies dropped once granted.

AVG art. 18(1)(a): while the person contests a record's accuracy, whoever
receives it must see that (API.md §3: ``"contested": true``), whether it comes
live from the source or from the gateway's copy. Once the responsible party
grants the correctie (fully or partly), the copy the gateway holds is the old,
wrong value: it is deleted at once, so an unavailable source can never bring
it back as ``cached_copy``.

Which records a correctie concerns: its ``records`` at its ``source``; all of
that source's records about the person when it names none; every source's
when it names no source either (the person did not know where the error sits).
A correctie concerns the record itself, so this holds in every case and
covenant of the person, not only the one it was filed under.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.cases.models import Case
from gateway.copies.models import CachedCopy
from gateway.rights.models import RightsRequest

ANY_SOURCE = ""
"""Key of :attr:`Contested.by_source` for a correctie that names no source."""


@dataclass(frozen=True)
class Contested:
    """Per source the contested record ids, or ``None`` for all of that source's records."""

    by_source: Mapping[str, frozenset[str] | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_source)

    def covers(self, source: str | None, record_id: str) -> bool:
        for key in (ANY_SOURCE, source or ANY_SOURCE):
            if key not in self.by_source:
                continue
            records = self.by_source[key]
            if records is None or record_id in records:
                return True
        return False


def _merge(into: dict[str, frozenset[str] | None], source: str, records: Iterable[str]) -> None:
    named = frozenset(records)
    if not named:
        into[source] = None
    elif source not in into:
        into[source] = named
    elif (held := into[source]) is not None:
        into[source] = held | named


def pending_correcties(session: Session, subject_pseudonym: str) -> Contested:
    """What the person's pending correcties contest (one indexed query)."""
    rows = session.execute(
        select(RightsRequest.source_party, RightsRequest.records_json).where(
            RightsRequest.subject_pseudonym == subject_pseudonym,
            RightsRequest.type == "correctie",
            RightsRequest.status == "pending",
        )
    )
    found: dict[str, frozenset[str] | None] = {}
    for source, records_json in rows:
        _merge(found, source or ANY_SOURCE, (str(r) for r in json.loads(records_json)))
    return Contested(found)


GRANTED = ("granted", "partially_granted")


def drop_corrected_copies(session: Session, request: RightsRequest) -> int:
    """Delete the copies a granted correctie made stale, in every case of the person.

    The whole (case, source, category) copy that held an affected record goes,
    not only that record: a copy served without it would read as "the source
    has no such record", which is no more true than the old value.
    """
    if request.type != "correctie" or request.status not in GRANTED:
        return 0
    case_ids = select(Case.id).where(Case.subject_pseudonym == request.subject_pseudonym)
    affected = select(CachedCopy.case_id, CachedCopy.source, CachedCopy.category).where(
        CachedCopy.case_id.in_(case_ids)
    )
    if request.source_party is not None:
        affected = affected.where(CachedCopy.source == request.source_party)
    records: Sequence[str] = request.records
    if records:
        affected = affected.where(CachedCopy.record_id.in_(sorted(set(records))))
    gone = 0
    for case_id, source, category in set(session.execute(affected).all()):
        result = session.execute(
            delete(CachedCopy)
            .where(
                CachedCopy.case_id == case_id,
                CachedCopy.source == source,
                CachedCopy.category == category,
            )
            .execution_options(synchronize_session=False)
        )
        gone += int(getattr(result, "rowcount", 0) or 0)
    return gone
