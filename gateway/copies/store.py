"""Time-limited copies of minimised source answers, sealed under the case key.

A covenant that sets ``retention.copies`` (a non-zero duration) lets the
gateway keep what a source last disclosed for a case, so that a source that
is briefly unavailable does not stall the case meeting. The copy is only ever
served by the broker after the same policy decision as a live answer
(participant, open case, rule, consent, no *verzet*), trimmed to the fields
that decision permits, only for a source that said nothing at all, and never
after ``expires_at`` or the covenant's term as it reads now.

Copies are sealed under the existing (subject, ``case``) data key of the
audit vault; keys are only created by the audit log (under its head lock), so
when no key exists yet nothing is cached rather than racing to create one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, case, delete, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connectors.models import JsonValue
from gateway.audit.models import AuditDataKey
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import DataKey, VaultError, open_sealed, seal
from gateway.copies.models import CachedCopy, CopyDrop
from gateway.copies.records import DisclosedRecord
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.durations import IsoDuration
from gateway.storage.db import Database
from gateway.storage.upsert import conflict_insert

log = logging.getLogger("ketenpoort.copies")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# An unchanged answer is not rewritten for this long: the copy then expires at most
# this much earlier than a rewrite would make it (the safe direction), and a
# query costs no second commit besides the audit log's.
REWRITE_UNCHANGED_AFTER = timedelta(hours=1)
_REMEMBERED_SLOTS = 10_000
# A keep skips an answer fetched up to this long *after* a drop of its slot as well:
# the fetch and the drop may be timed by two workers' clocks (the safe side: a copy
# not refreshed this once).
DROP_MARGIN = timedelta(seconds=5)
# A drop mark is only needed while a query fetched before it can still keep: far
# longer than any query's deadline. The ``copy_drops`` retention rule goes by it.
DROP_MARK_KEPT = timedelta(days=1)


def _marks(case_id: str, slot: CopySlot) -> tuple[str, str]:
    source = slot.source or ""
    return slot_mark(case_id, source, slot.category), source_mark(source)


def _since(moment: datetime | None, since: datetime) -> bool:
    return moment is not None and moment >= since


def slot_mark(case_id: str, source: str, category: str) -> str:
    """One (case, source, category) slot; the parts are checked ids (no ``:`` in them)."""
    return f"slot:{case_id}:{source}:{category}"


def source_mark(source: str) -> str:
    return f"source:{source}"


def mark_dropped(session: Session, marks: Sequence[str], at: datetime) -> None:
    """Set these drop marks to ``at``, never back in time, in one lock order.

    The upsert holds each row until commit: a keep in flight that read the mark
    first (:func:`drop_times`) is waited for, so this drop's delete sees its copies.
    """
    wanted = sorted(set(marks))
    if not wanted:
        return
    statement = conflict_insert(session, CopyDrop).values(
        [{"mark": m, "dropped_at": at} for m in wanted]
    )
    new, old = statement.excluded.dropped_at, CopyDrop.dropped_at
    latest = case((old.is_(None), new), (new > old, new), else_=old)
    session.execute(
        statement.on_conflict_do_update(index_elements=[CopyDrop.mark], set_={"dropped_at": latest})
    )


def drop_times(session: Session, marks: Sequence[str]) -> dict[str, datetime]:
    """Each mark's last drop, read under a shared lock that a drop in flight waits for.

    A missing mark is created first (no drop time), so there is a row to lock: on
    PostgreSQL a keep then waits for a drop's commit and reads its time, and a drop
    waits for the keeps that read before it. Keeps of one source share the lock.
    SQLite has one writer at a time: the insert starts the keep's write transaction.
    """
    wanted = sorted(set(marks))
    if not wanted:
        return {}
    statement = conflict_insert(session, CopyDrop).values(
        [{"mark": m, "dropped_at": None} for m in wanted]
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=[CopyDrop.mark]))
    rows = session.execute(
        select(CopyDrop.mark, CopyDrop.dropped_at)
        .where(CopyDrop.mark.in_(wanted))
        .order_by(CopyDrop.mark)
        .with_for_update(read=True)
    )
    return {mark: when for mark, when in rows if when is not None}


def copies_duration(policy: CompiledPolicy, covenant_id: str) -> IsoDuration | None:
    """The covenant's copy period, or None when copies are off (no covenant, or ``P0D``)."""
    covenant = policy.covenant(covenant_id)
    if covenant is None:
        return None
    duration: IsoDuration | None = getattr(covenant.retention, "copies", None)
    if duration is None or duration.add_to(_EPOCH) <= _EPOCH:
        return None
    return duration


def _aad(case_id: str, source: str, category: str, record_id: str) -> bytes:
    """Binds the sealed record to its slot, so a row cannot be moved to another case."""
    return f"ketenpoort/copy\x00{case_id}\x00{source}\x00{category}\x00{record_id}".encode()


@dataclass(frozen=True)
class CopySlot:
    """One (source, category) answer of a query, as the broker hands it over."""

    source: str | None
    category: str
    status: str
    records: Sequence[DisclosedRecord] | None
    permitted_fields: frozenset[str] | None


class CopyStore:
    """Keeps, serves and deletes copies; every method is synchronous (call from a thread)."""

    def __init__(
        self,
        db: Database,
        vault: SubjectVault,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        corrected: Callable[[Session, str, datetime], CorrectedRecords] | None = None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._now = now
        self._corrected = corrected
        self._written: OrderedDict[tuple[str, str, str], tuple[str, datetime]] = OrderedDict()
        self._written_lock = threading.Lock()
        # Slots a source's own answer overruled whose delete failed: never served until
        # a later delete or a fresh copy of the slot commits. Not bounded: forgetting
        # one would serve what the source said no to (it holds failures only).
        # The value is when the hold began (real time): a keep of an answer fetched
        # before it never lifts it.
        self._overruled: dict[tuple[str, str, str], datetime] = {}

    def _unchanged(self, slot_key: tuple[str, str, str], digest: str, now: datetime) -> bool:
        """This process wrote exactly this answer to this slot recently."""
        with self._written_lock:
            held = self._written.get(slot_key)
        return held is not None and held[0] == digest and now - held[1] < REWRITE_UNCHANGED_AFTER

    def _remember(self, written: dict[tuple[str, str, str], str], now: datetime) -> None:
        with self._written_lock:
            for slot_key, digest in written.items():
                self._written[slot_key] = (digest, now)
                self._written.move_to_end(slot_key)
            while len(self._written) > _REMEMBERED_SLOTS:
                self._written.popitem(last=False)

    def _case_key(self, session: Session, pseudonym: str, case_id: str) -> DataKey | None:
        row = session.execute(
            select(AuditDataKey.key_id, AuditDataKey.wrapped).where(
                AuditDataKey.subject_pseudonym == pseudonym,
                AuditDataKey.scope == "case",
                AuditDataKey.case_id == case_id,
                AuditDataKey.wrapped.is_not(None),
            )
        ).first()
        if row is None:
            return None
        return DataKey.unwrap(self._vault.master(), row[0], row[1])

    def would_keep(
        self, policy: CompiledPolicy, covenant_id: str, case_id: str, slots: Sequence[CopySlot]
    ) -> bool:
        """Whether :meth:`keep` could write anything, decided in memory (no thread hop, no
        statement): the covenant keeps copies and an ``ok`` answer differs from the copy
        this process last wrote. ``False`` means :meth:`keep` would return 0 at once."""
        if copies_duration(policy, covenant_id) is None:
            return False
        now = self._now()
        for s in slots:  # a loop, not any(genexpr): one call less per slot on every query
            if s.status != "ok" or not s.source or s.records is None:
                continue
            if not self._unchanged((case_id, s.source, s.category), _digest(s), now):
                return True
        return False

    def keep(
        self,
        policy: CompiledPolicy,
        covenant_id: str,
        case_id: str,
        pseudonym: str,
        slots: Sequence[CopySlot],
        fetched_at: datetime,
    ) -> int:
        """Replace the copies of every ``ok`` slot with its records; returns rows written.

        ``fetched_at`` (real time, before the sources were asked): the answer is at
        most this old, so nothing dropped since is kept again — no slot of a case
        whose copies a source's own answer dropped since (:meth:`drop`), no record
        of a source that reported deletions since (:func:`delete_source_records`),
        no slot this process holds back after a failed drop since, and no slot
        holding a record that a correctie granted since concerns (the decision's
        drop of copies already ran, docs/rights.md).
        """
        duration = copies_duration(policy, covenant_id)
        fresh = [s for s in slots if s.status == "ok" and s.source and s.records is not None]
        if duration is None or not fresh:
            return 0
        now = self._now()
        keyed = [((case_id, s.source or "", s.category), _digest(s), s) for s in fresh]
        changed = [(k, d, s) for k, d, s in keyed if not self._unchanged(k, d, now)]
        since = fetched_at - DROP_MARGIN
        with self._written_lock:  # a failed drop since the fetch: its hold stands
            fresh = [
                s
                for _, _, s in changed
                if not _since(self._overruled.get((case_id, s.source or "", s.category)), since)
            ]
        if not fresh:
            return 0
        written = 0
        try:
            with self._db.session() as session:
                marks = {(s.source, s.category): _marks(case_id, s) for s in fresh}
                dropped = drop_times(session, [m for pair in marks.values() for m in pair])
                fresh = [
                    s
                    for s in fresh
                    if not any(_since(dropped.get(m), since) for m in marks[s.source, s.category])
                ]
                key = self._case_key(session, pseudonym, case_id)
                if key is None:
                    return 0
                if self._corrected is not None:
                    stale = self._corrected(session, pseudonym, fetched_at)
                    fresh = [s for s in fresh if not stale_slot(stale, s)]
                for slot in fresh:
                    assert slot.source is not None and slot.records is not None
                    session.execute(
                        delete(CachedCopy).where(
                            CachedCopy.case_id == case_id,
                            CachedCopy.source == slot.source,
                            CachedCopy.category == slot.category,
                        )
                    )
                    for record in slot.records:
                        body: dict[str, object] = {
                            "updated": record.updated,
                            "fields": dict(record.fields),
                        }
                        if record.contested:  # a peer's mark is kept with the copy
                            body["contested"] = True
                        plain = json.dumps(body, separators=(",", ":")).encode("utf-8")
                        aad = _aad(case_id, slot.source, slot.category, record.id)
                        session.add(
                            CachedCopy(
                                case_id=case_id,
                                source=slot.source,
                                category=slot.category,
                                record_id=record.id,
                                key_id=key.key_id,
                                sealed=seal(key.secret, plain, aad),
                                stored_at=now,
                                expires_at=duration.add_to(now),
                            )
                        )
                        written += 1
        except (SQLAlchemyError, VaultError) as error:
            log.warning("copy not kept: %s", type(error).__name__)
            return 0
        self._remember({k: d for k, d, _ in changed}, now)
        again: list[tuple[str, str]] = []
        with self._written_lock:  # the fresh answer replaced what a failed drop left
            for s in fresh:
                slot_key = (case_id, s.source or "", s.category)
                if _since(self._overruled.get(slot_key), since):  # a drop began meanwhile
                    again.append((slot_key[1], slot_key[2]))
                else:
                    self._overruled.pop(slot_key, None)
        if again:  # and failed: what this keep wrote is older than its "no"
            self.drop(case_id, again)
        return written

    def drop(self, case_id: str, slots: Sequence[tuple[str, str]]) -> int:
        """Delete the copies of these (source, category) slots of a case; returns rows gone.

        The source's own answer overruled them (not found, refused, a peer's denial):
        a copy never outlives what the source says now. The drop mark commits first,
        on its own: if the delete then fails, no process serves the copy (it was kept
        before the mark) nor keeps an answer fetched before it. If the mark fails too,
        this process holds the slots back: :meth:`serve` tries the drop again and
        serves nothing of them until it (or a fresh copy of the slot) commits.
        """
        keys = {(case_id, source, category) for source, category in slots}
        at = datetime.now(UTC)  # real time, as the broker's ``fetched_at``
        with self._written_lock:  # a later ``ok`` with the same records is written again
            for slot_key in keys:
                self._written.pop(slot_key, None)
                self._overruled[slot_key] = at  # fail closed: held until the delete commits
        try:
            with self._db.session() as session:  # committed alone: it stands if the delete fails
                mark_dropped(session, [slot_mark(case_id, *slot) for slot in slots], at)
            with self._db.session() as session:
                result = session.execute(
                    delete(CachedCopy).where(
                        CachedCopy.case_id == case_id,
                        or_(
                            *(
                                and_(CachedCopy.source == source, CachedCopy.category == category)
                                for source, category in sorted(set(slots))
                            )
                        ),
                    )
                )
                gone = int(getattr(result, "rowcount", 0) or 0)
        except SQLAlchemyError as error:
            log.warning("copy not dropped, not served until it is: %s", type(error).__name__)
            return 0
        with self._written_lock:
            for slot_key in keys:
                if self._overruled.get(slot_key) == at:  # not a later drop's hold
                    del self._overruled[slot_key]
        return gone

    def _held_back(self, case_id: str, source: str, category: str) -> bool:
        """A drop of this slot failed: try it again; never serve the slot meanwhile."""
        with self._written_lock:
            held = (case_id, source, category) in self._overruled
        if held:
            self.drop(case_id, [(source, category)])
        return held

    def serve(
        self,
        policy: CompiledPolicy,
        covenant_id: str,
        case_id: str,
        pseudonym: str,
        source: str,
        category: str,
        fields: frozenset[str],
    ) -> list[DisclosedRecord] | None:
        """The copy trimmed to ``fields``; None when there is none, or it is past the
        covenant's ``copies`` term as it reads *now* (turned off or shortened since it was
        kept) or past the ``expires_at`` it was kept with, or a drop of the slot was
        marked after it was kept (its delete failed, in this process or another)."""
        duration = copies_duration(policy, covenant_id)
        if duration is None or self._held_back(case_id, source, category):
            return None
        now = self._now()
        try:
            with self._db.session() as session:
                rows = list(
                    session.scalars(
                        select(CachedCopy)
                        .where(
                            CachedCopy.case_id == case_id,
                            CachedCopy.source == source,
                            CachedCopy.category == category,
                        )
                        .order_by(CachedCopy.record_id)
                    )
                )
                if not rows or any(past_term(row, duration, now) for row in rows):
                    return None
                dropped = session.scalar(  # a drop whose delete failed, in any process
                    select(CopyDrop.dropped_at).where(
                        CopyDrop.mark == slot_mark(case_id, source, category)
                    )
                )
                if dropped is not None and any(row.stored_at <= dropped for row in rows):
                    return None
                key = self._case_key(session, pseudonym, case_id)
                if key is None or any(row.key_id != key.key_id for row in rows):
                    return None
                return [self._open(key, row, fields) for row in rows]
        except (SQLAlchemyError, VaultError) as error:
            log.warning("copy not served: %s", type(error).__name__)
            return None

    @staticmethod
    def _open(key: DataKey, row: CachedCopy, fields: frozenset[str]) -> DisclosedRecord:
        aad = _aad(row.case_id, row.source, row.category, row.record_id)
        body = json.loads(open_sealed(key, row.sealed, aad))
        kept: dict[str, JsonValue] = {
            name: value for name, value in dict(body["fields"]).items() if name in fields
        }
        return DisclosedRecord(
            id=row.record_id,
            updated=str(body["updated"]),
            fields=kept,
            contested=body.get("contested") is True,
        )


def past_term(row: CachedCopy, duration: IsoDuration | None, now: datetime) -> bool:
    """Whether a copy may no longer be served: its ``expires_at`` passed, or the covenant's
    term now (``None``: copies off) ends sooner. The retention rule purges on the same."""
    if row.expires_at <= now or duration is None:
        return True
    return duration.add_to(row.stored_at) <= now


class CorrectedRecords(Protocol):
    """Records a granted correctie concerns (``gateway/rights/contested.Contested``)."""

    def covers(self, source: str | None, record_id: str) -> bool: ...


def stale_slot(corrected: CorrectedRecords, slot: CopySlot) -> bool:
    return any(corrected.covers(slot.source, record.id) for record in slot.records or ())


def _digest(slot: CopySlot) -> str:
    """What a slot's copy would hold, as one hash (never stored; memory only)."""
    records = [
        [record.id, record.updated, dict(record.fields), record.contested]
        for record in slot.records or ()
    ]
    encoded = _DIGEST_JSON.encode(records)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


# What json.dumps(..., sort_keys=True, separators=(",", ":"), default=str) builds per
# call, built once (an encoder keeps no state between calls).
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def delete_source_records(session: Session, source: str, record_ids: Sequence[str]) -> int:
    """Delete every copy of these records of ``source`` (in every case); returns rows gone.

    Marks the source dropped now, so a query that fetched one of them before and
    keeps its answer after this commits keeps nothing of the source (:meth:`CopyStore.keep`).
    """
    if not record_ids:
        return 0
    mark_dropped(session, [source_mark(source)], datetime.now(UTC))
    result = session.execute(
        delete(CachedCopy).where(
            CachedCopy.source == source, CachedCopy.record_id.in_(sorted(set(record_ids)))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def delete_case_copies(session: Session, case_ids: Sequence[str]) -> int:
    if not case_ids:
        return 0
    result = session.execute(delete(CachedCopy).where(CachedCopy.case_id.in_(list(case_ids))))
    return int(getattr(result, "rowcount", 0) or 0)
