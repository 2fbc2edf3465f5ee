"""Marking granted consents past ``valid_until`` as expired, each with its log entry.

Coverage never depends on this job: :meth:`ConsentService.covering` compares
``valid_until`` with today on every query, so a consent stops covering the
moment its date passes. This job makes the register say so and writes the
``consent``/``expired`` entry the FG expects for every step. Run it before the
retention rule that removes expired consent rows.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.appender import AuditAppender
from gateway.consent.events import consent_event
from gateway.consent.models import ConsentRequest
from gateway.consent.service import ConsentView, view_of
from gateway.policy.compiled import CompiledPolicy

EXPIRED_REASON = "valid_until_passed"


def expire_due(
    session: Session, today: date, *, audit: AuditAppender, policy: CompiledPolicy
) -> list[str]:
    """Ids of the consents expired now; the caller's commit makes state and log durable."""
    rows = list(
        session.scalars(
            select(ConsentRequest)
            .where(ConsentRequest.status == "granted", ConsentRequest.valid_until < today)
            .order_by(ConsentRequest.id)
            .with_for_update(skip_locked=True)
        )
    )
    views: list[ConsentView] = []
    for row in rows:
        row.status = "expired"
        views.append(view_of(row))
    session.flush()
    events = [
        consent_event(
            session,
            policy,
            view,
            "expired",
            party=view.decided_by_party,
            employee=None,
            reason=EXPIRED_REASON,
        )
        for view in views
    ]
    if events:
        audit.append_in(session, events)
    return [view.id for view in views]
