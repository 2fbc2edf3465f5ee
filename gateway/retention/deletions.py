"""Source deletions (promise 8): when a source deletes a record, every copy goes.

Deletions arrive by the source's feed (polled, cursor kept in ``gateway_state``)
or pushed to ``POST /v1/sources/{party}/deletions``. Either way only copies
that came from that source are touched, and each deletion is logged in the
same transaction that deletes — one ``deletion`` entry per event, naming the
record only by a reference hash (no BSN, no record id, no field value).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors import DeletionEvent, SourceUnavailable
from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog
from gateway.brokering.registry import ConnectorRegistry
from gateway.copies.models import CachedCopy
from gateway.copies.store import delete_source_records
from gateway.keys import KeyStoreError
from gateway.policy.compiled import CompiledPolicy
from gateway.retention.lease import LeaseLost
from gateway.storage.db import Database
from gateway.storage.state import get_state, set_state

log = logging.getLogger("ketenpoort.retention")
Channel = Literal["feed", "push"]
POLLED_SOURCE_TYPES = frozenset({"rest", "sql"})
MAX_PAGES_PER_RUN = 1000
FEED_BUDGET_S = 300.0
"""All feeds of one run together: a slow source (up to 1000 pages of up to 60 s each)
must not keep every later rule waiting. A feed cut short goes on from its cursor."""


def record_ref(source: str, record_id: str) -> str:
    """Lets the privacy officer confirm a known record's deletion without the log naming it."""
    return hashlib.sha256(f"{source}\x00{record_id}".encode()).hexdigest()[:32]


def cursor_name(covenant: str, party: str) -> str:
    return f"retention.deletion_feed.{covenant}.{party}"


def copies_of(session: Session, source: str, record_ids: Sequence[str]) -> dict[str, int]:
    """How many copies each record of ``source`` has (what a deletion would remove)."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(CachedCopy.record_id, func.count())
        .where(CachedCopy.source == source, CachedCopy.record_id.in_(sorted(set(record_ids))))
        .group_by(CachedCopy.record_id)
    )
    return {record_id: int(count) for record_id, count in rows}


def apply_deletions(
    session: Session,
    audit: AuditLog,
    *,
    covenant: str,
    source: str,
    events: Sequence[DeletionEvent],
    channel: Channel,
) -> int:
    """Delete every copy of the named records of ``source`` and log it; copies gone.

    An event that removed copies is its own entry (the officer can confirm that
    record's deletion by its ``record_ref``). Events for records we held no copy
    of are one entry per batch (``records`` 0, ``details.events`` = how many,
    ``details.categories``): nothing was processed for them, and one entry each
    let a source with a valid token write up to a thousand entries per request
    of made-up ids (review-auth).
    """
    if not events:
        return 0
    ids = [event.record_id for event in events]
    counts = copies_of(session, source, ids)
    gone = delete_source_records(session, source, ids)
    first: dict[str, DeletionEvent] = {}
    for event in events:  # a record named twice in a batch is one entry
        first.setdefault(event.record_id, event)
    held = [event for event in first.values() if counts.get(event.record_id, 0)]
    without = [event for event in events if not counts.get(event.record_id, 0)]
    entries = [
        AuditEvent(
            kind="deletion",
            outcome="source_deleted",
            party=source,
            convenant=covenant,
            source=source,
            category=event.category,
            reason=f"source_deletion_{channel}",
            records=counts.get(event.record_id, 0),
            details={
                "record_ref": record_ref(source, event.record_id),
                "deleted_at": event.deleted_at.isoformat(),
            },
        )
        for event in held
    ]
    if without:
        categories = sorted({event.category for event in without})
        entries.append(
            AuditEvent(
                kind="deletion",
                outcome="source_deleted",
                party=source,
                convenant=covenant,
                source=source,
                category=categories[0] if len(categories) == 1 else None,
                reason=f"source_deletion_{channel}",
                records=0,
                details={
                    "events": len(without),
                    "without_copies": True,
                    "categories": ",".join(categories)[:500],
                },
            )
        )
    audit.append_in(session, entries)
    return gone


@dataclass
class FeedReport:
    events: int = 0
    copies: int = 0
    unavailable: int = 0
    deferred: int = 0
    """Feeds not (fully) read this run: the run's feed budget was spent; next run goes on."""
    failed: list[str] = field(default_factory=list)
    """The error type of each feed that failed unexpectedly (nothing personal)."""


class DeletionFeeds:
    """Polls every polled-type source's deletion feed once per retention run."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        policy: Callable[[], CompiledPolicy],
        registry: ConnectorRegistry,
        *,
        budget_s: float = FEED_BUDGET_S,
    ) -> None:
        self._db = db
        self._audit = audit
        self._policy = policy
        self._registry = registry
        self.budget_s = budget_s

    def sources(self) -> list[tuple[str, str]]:
        policy = self._policy()
        found = []
        for covenant_id, compiled in policy.covenants.items():
            for party in compiled.covenant.parties:
                if party.source is not None and party.source.type in POLLED_SOURCE_TYPES:
                    found.append((covenant_id, party.id))
        return found

    async def poll(self, *, dry_run: bool, keep: Callable[[], None] = lambda: None) -> FeedReport:
        """Every feed once; ``keep`` runs before each page is applied (the run lock).

        One feed's failure is its own: logged by type only (never its text, which
        may quote a source's answer), counted, and the other feeds still run. Before,
        one error (a NUL in a cursor, say) stopped this and every later rule, every
        run, and the cursor never moved on. Losing the run lock (``LeaseLost`` from
        ``keep``) stops everything.
        """
        report = FeedReport()
        deadline = time.monotonic() + self.budget_s
        for covenant_id, party in self.sources():
            try:
                await self._poll_one(covenant_id, party, dry_run, report, keep, deadline)
            except SourceUnavailable as error:
                log.warning("deletion feed of %s unavailable: %s", party, error.reason)
                report.unavailable += 1
            except KeyStoreError:
                log.warning("deletion feed of %s not polled: no gateway token key", party)
                report.unavailable += 1
            except LeaseLost:
                raise
            except Exception as error:  # noqa: BLE001 - one feed must not stop the others
                log.error("deletion feed of %s failed: %s", party, type(error).__name__)
                report.failed.append(type(error).__name__)
        return report

    async def _poll_one(
        self,
        covenant_id: str,
        party: str,
        dry_run: bool,
        report: FeedReport,
        keep: Callable[[], None],
        deadline: float,
    ) -> None:
        policy = self._policy()
        connector = self._registry.get(policy, covenant_id, party)
        if connector is None:
            return
        name = cursor_name(covenant_id, party)
        with self._db.session() as session:
            cursor = get_state(session, name)
        for _ in range(MAX_PAGES_PER_RUN):
            if time.monotonic() >= deadline:
                log.warning("deletion feed of %s deferred: the run's feed time is spent", party)
                report.deferred += 1
                return
            try:
                page = await connector.deletions(cursor)
            except ValueError:
                raise SourceUnavailable("malformed") from None
            keep()
            events = list(page.events)
            if events:
                report.events += len(events)
                with self._db.session() as session:
                    if dry_run:
                        ids = [e.record_id for e in events]
                        report.copies += sum(copies_of(session, party, ids).values())
                    else:
                        report.copies += apply_deletions(
                            session,
                            self._audit,
                            covenant=covenant_id,
                            source=party,
                            events=events,
                            channel="feed",
                        )
                        if page.next is not None:
                            set_state(session, name, page.next)
            elif page.next is not None and page.next != cursor and not dry_run:
                with self._db.session() as session:
                    set_state(session, name, page.next)
            if not events or page.next is None or page.next == cursor:
                return
            cursor = page.next
