"""Deadlines the privacy officer must see (promise 9): /privacy and a metric.

:class:`OverdueRegister` implements the /privacy page's provider protocol; it
lists overdue requests and those due within :data:`NEAR_DEADLINE`, with a
Dutch status saying which. The observable gauge ``ketenpoort.rights.overdue``
counts overdue requests at each collection, so an alert can fire without
anyone opening the page.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.rights.models import RequestSource, RightsRequest
from gateway.rights.notices import overdue_reviews
from gateway.storage.db import Database

log = logging.getLogger("ketenpoort.rights")

NEAR_DEADLINE = timedelta(days=7)
OVERDUE_LABEL = "termijn verstreken"
SOURCE_LATE_LABEL = "organisatie heeft niet op tijd geantwoord (inzage)"
EXECUTION_LATE_LABEL = "correctie niet op tijd uitgevoerd"
NOTICE_REVIEW_LABEL = "niet geïnformeerd; herbeoordeling verlopen"
NEAR_LABEL = "termijn verloopt binnen 7 dagen"
METRIC_NAME = "ketenpoort.rights.overdue"


@dataclass(frozen=True)
class OverdueRequest:
    """What the FG needs to chase an overdue request; no subject identity."""

    id: str
    type: str
    received: datetime
    deadline: datetime
    status: str
    responsible_party: str | None = None
    convenant: str | None = None


class OverdueRegister:
    def __init__(self, db: Database) -> None:
        self._db = db

    def overdue(self, now: datetime, covenants: Sequence[str]) -> Sequence[OverdueRequest]:
        """Overdue first, then near the deadline; no subject identity.

        Only requests of ``covenants`` (the officer's own): an officer of one
        covenant has no business with another covenant's requests.
        """
        if not covenants:
            return []
        with self._db.session() as session:
            rows = session.scalars(
                select(RightsRequest)
                .where(
                    RightsRequest.status == "pending",
                    RightsRequest.deadline < now + NEAR_DEADLINE,
                    RightsRequest.convenant.in_(tuple(covenants)),
                )
                .order_by(RightsRequest.deadline)
            ).all()
            late = self._late_sources(session, covenants, now)
            reviews = self._reviews(session, covenants, now)
            unexecuted = self._unexecuted(session, covenants, now)
        found = []
        for row in rows:
            deadline = row.deadline
            found.append(
                OverdueRequest(
                    id=row.id,
                    type=row.type,
                    received=row.received_at,
                    deadline=deadline,
                    status=OVERDUE_LABEL if deadline < now else NEAR_LABEL,
                    responsible_party=row.responsible_party,
                    convenant=row.convenant,
                )
            )
        return [*found, *late, *unexecuted, *reviews]

    @staticmethod
    def _reviews(session: Session, covenants: Sequence[str], now: datetime) -> list[OverdueRequest]:
        """Informatieplicht: "not informed" statements whose review date has passed."""
        return [
            OverdueRequest(
                id=f"{row.case_id} ({row.subject_ref})",
                type="informatieplicht",
                received=row.recorded_at,
                deadline=datetime.combine(row.review_on, time(0), tzinfo=UTC)
                if row.review_on
                else row.recorded_at,
                status=NOTICE_REVIEW_LABEL,
                responsible_party=row.by_party,
                convenant=row.convenant,
            )
            for row in overdue_reviews(session, tuple(covenants), now.date())
        ]

    @staticmethod
    def _late_sources(
        session: Session, covenants: Sequence[str], now: datetime
    ) -> list[OverdueRequest]:
        """One line per joint controller that has not answered an inzage by its deadline."""
        rows = session.execute(
            select(RightsRequest, RequestSource.party)
            .join(RequestSource, RequestSource.request_id == RightsRequest.id)
            .where(
                RequestSource.answered_at.is_(None),
                RightsRequest.deadline < now,
                RightsRequest.withdrawn_at.is_(None),
                RightsRequest.convenant.in_(tuple(covenants)),
            )
            .order_by(RightsRequest.deadline, RequestSource.party)
        ).all()
        return [
            OverdueRequest(
                id=row.id,
                type=row.type,
                received=row.received_at,
                deadline=row.deadline,
                status=SOURCE_LATE_LABEL,
                responsible_party=party,
                convenant=row.convenant,
            )
            for row, party in rows
        ]

    @staticmethod
    def _unexecuted(
        session: Session, covenants: Sequence[str], now: datetime
    ) -> list[OverdueRequest]:
        """Granted correcties not reported carried out by ``execute_by``."""
        rows = session.scalars(
            select(RightsRequest)
            .where(
                RightsRequest.execute_by.is_not(None),
                RightsRequest.executed_at.is_(None),
                RightsRequest.execute_by < now,
                RightsRequest.convenant.in_(tuple(covenants)),
            )
            .order_by(RightsRequest.execute_by)
        ).all()
        return [
            OverdueRequest(
                id=row.id,
                type=row.type,
                received=row.received_at,
                deadline=row.execute_by or row.deadline,
                status=EXECUTION_LATE_LABEL,
                responsible_party=row.source_party or row.responsible_party,
                convenant=row.convenant,
            )
            for row in rows
        ]

    def overdue_count(self, now: datetime) -> int:
        """Undecided requests past due, plus late sources and unexecuted correcties."""
        with self._db.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(RightsRequest)
                .where(RightsRequest.status == "pending", RightsRequest.deadline < now)
            )
            late = session.scalar(
                select(func.count())
                .select_from(RequestSource)
                .join(RightsRequest, RightsRequest.id == RequestSource.request_id)
                .where(
                    RequestSource.answered_at.is_(None),
                    RightsRequest.deadline < now,
                    RightsRequest.withdrawn_at.is_(None),
                )
            )
            unexecuted = session.scalar(
                select(func.count())
                .select_from(RightsRequest)
                .where(
                    RightsRequest.executed_at.is_(None),
                    RightsRequest.execute_by < now,
                )
            )
        return int(count or 0) + int(late or 0) + int(unexecuted or 0)


_registers: weakref.WeakSet[OverdueRegister] = weakref.WeakSet()
_gauge_lock = threading.Lock()
_gauge_made = False


def observe_overdue(_options: CallbackOptions) -> Iterable[Observation]:
    """The overdue count over every live runtime; one that cannot be read is skipped.

    Only if none can be read is nothing observed: a gap, not a false zero.
    """
    now = datetime.now(UTC)
    counts: list[int] = []
    for register in list(_registers):
        try:
            counts.append(register.overdue_count(now))
        except SQLAlchemyError as error:
            log.warning("overdue count skipped: %s", type(error).__name__)
    return [Observation(sum(counts))] if counts else []


def watch_overdue(register: OverdueRegister) -> None:
    """Count ``register`` in the process-wide gauge (created once, on first use)."""
    global _gauge_made  # noqa: PLW0603 - one instrument per process, as OpenTelemetry wants
    with _gauge_lock:
        _registers.add(register)
        if not _gauge_made:
            metrics.get_meter("ketenpoort.rights").create_observable_gauge(
                METRIC_NAME,
                callbacks=[observe_overdue],
                unit="{request}",
                description="Rights requests of persons concerned past their legal deadline",
            )
            _gauge_made = True
