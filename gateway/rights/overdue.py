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
from datetime import UTC, datetime, timedelta

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.rights.models import RightsRequest
from gateway.storage.db import Database

log = logging.getLogger("ketenpoort.rights")

NEAR_DEADLINE = timedelta(days=7)
OVERDUE_LABEL = "termijn verstreken"
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
        return found

    def overdue_count(self, now: datetime) -> int:
        with self._db.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(RightsRequest)
                .where(RightsRequest.status == "pending", RightsRequest.deadline < now)
            )
        return int(count or 0)


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
