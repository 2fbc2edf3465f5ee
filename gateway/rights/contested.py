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
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from gateway.cases.models import case_ids_of
from gateway.copies.models import CachedCopy
from gateway.rights.models import RightsRequest
from gateway.storage.connection_of import connection_of
from gateway.storage.constant_sql import one_of
from gateway.storage.precompiled import Precompiled

GRANTED = ("granted", "partially_granted")
ANY_SOURCE = ""
"""Key of :attr:`Contested.by_source` for a correctie that names no source."""


@dataclass(frozen=True)
class Contested:
    """Per source the contested record ids, or ``None`` for all of that source's records."""

    by_source: Mapping[str, frozenset[str] | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_source)

    def covers(self, source: str | None, record_id: str) -> bool:
        """Record ids compare without case (see :func:`_fold`)."""
        folded = _fold(record_id)
        for key in (ANY_SOURCE, source or ANY_SOURCE):
            if key not in self.by_source:
                continue
            records = self.by_source[key]
            if records is None or folded in records:
                return True
        return False


def _fold(record_id: str) -> str:
    """A named record id as compared: ASCII lower case.

    A correctie names ids as the person or partner typed them; a source may
    match them without case and grant it. Comparing without case can only
    mark one record too many as contested or drop one copy too many — never
    leave a corrected record's old copy in place (the safe direction).
    """
    return record_id.lower()


def _merge(into: dict[str, frozenset[str] | None], source: str, records: Iterable[str]) -> None:
    named = frozenset(_fold(record) for record in records)
    if not named:
        into[source] = None
    elif source not in into:
        into[source] = named
    elif (held := into[source]) is not None:
        into[source] = held | named


_REQUESTS = RightsRequest.__table__
# Asked on every query answer with records: built once (Core, compiled form cached).
_PENDING = Precompiled(
    select(_REQUESTS.c.source_party, _REQUESTS.c.records_json).where(
        _REQUESTS.c.subject_pseudonym == bindparam("pseudonym"),
        _REQUESTS.c.type == "correctie",
        or_(
            _REQUESTS.c.status == "pending",
            and_(
                one_of(_REQUESTS.c.status, GRANTED),
                _REQUESTS.c.execute_by.is_not(None),
                _REQUESTS.c.executed_at.is_(None),
            ),
        ),
    )
)


def pending_correcties(session: Session, subject_pseudonym: str) -> Contested:
    """What the person's pending correcties contest (one indexed query).

    A granted correctie the source has not yet reported carried out still
    contests its records: the source may serve the old value until then.
    """
    rows = _PENDING.all(connection_of(session), {"pseudonym": subject_pseudonym})
    found: dict[str, frozenset[str] | None] = {}
    for source, records_json in rows:
        _merge(found, source or ANY_SOURCE, (str(r) for r in json.loads(records_json)))
    return Contested(found)


def corrected_since(session: Session, subject_pseudonym: str, since: datetime) -> Contested:
    """What correcties granted at or after ``since`` concern: an answer fetched before is stale.

    Called in the transaction that keeps a copy. The person's pending and
    recently granted correcties are read ``FOR SHARE`` (PostgreSQL): a decision
    (which locks its request ``FOR UPDATE``) then either committed before this
    read — and is seen here — or waits until the copy is committed, and its
    drop of stale copies sees and deletes it. Either way no copy fetched
    before the decision outlives it.
    """
    rows = session.execute(
        select(
            RightsRequest.source_party,
            RightsRequest.records_json,
            RightsRequest.status,
            RightsRequest.decided_at,
        )
        .where(
            RightsRequest.subject_pseudonym == subject_pseudonym,
            RightsRequest.type == "correctie",
            RightsRequest.status.in_(("pending", *GRANTED)),
        )
        .with_for_update(read=True)
    )
    found: dict[str, frozenset[str] | None] = {}
    for source, records_json, status, decided_at in rows:
        if status in GRANTED and decided_at is not None and decided_at >= since:
            _merge(found, source or ANY_SOURCE, (str(r) for r in json.loads(records_json)))
    return Contested(found)


def drop_corrected_copies(session: Session, request: RightsRequest) -> int:
    """Delete the copies a granted correctie made stale, in every case of the person.

    The whole (case, source, category) copy that held an affected record goes,
    not only that record: a copy served without it would read as "the source
    has no such record", which is no more true than the old value.
    """
    if request.type != "correctie" or request.status not in GRANTED:
        return 0
    case_ids = case_ids_of(request.subject_pseudonym)
    affected = select(CachedCopy.case_id, CachedCopy.source, CachedCopy.category).where(
        CachedCopy.case_id.in_(case_ids)
    )
    if request.source_party is not None:
        affected = affected.where(CachedCopy.source == request.source_party)
    records: Sequence[str] = request.records
    if records:
        folded = sorted({_fold(record) for record in records})
        affected = affected.where(func.lower(CachedCopy.record_id).in_(folded))
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
