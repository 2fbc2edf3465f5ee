"""Log every refused case call and query before the problem is answered (promise 5).

Handlers wrap their work in :func:`logging_refusals`; a 403, a 404 or an
up-front 422 for unknown ids then leaves a ``decision``/``denied`` entry
with the problem's reason (gateway/cases/refusals.py): the first of a minute
per (party, action, reason, covenant, purpose) at once, the rest of that minute
as one counted entry (``runtime.refusals``, a :class:`RefusalAggregate`), so a partner hammering
refused calls cannot flood the log. A refusal whose entry cannot be written is
a 503, like any other unloggable action.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditUnavailable
from gateway.brokering.known_ids import UnknownIds
from gateway.cases.refusals import refusal_event, refusal_reason
from gateway.cases.service import Actor
from gateway.problems import Forbidden, NotFound, Problem
from gateway.wiring import Runtime

log = logging.getLogger("ketenpoort.api.refusals")

LOGGED_REFUSALS = (Forbidden, NotFound, UnknownIds)


def _entry(
    runtime: Runtime, actor: Actor, action: str, case_id: str | None, problem: Problem
) -> AuditEvent:
    return refusal_event(
        actor,
        action=action,
        reason=refusal_reason(problem),
        case_id=case_id,
        covenant_version=runtime.policy.current.covenant_version(actor.covenant),
        details=problem.audit_details() if isinstance(problem, UnknownIds) else None,
    )


@contextmanager
def logging_refusals(
    runtime: Runtime, actor: Actor, action: str, case_id: str | None = None
) -> Iterator[None]:
    """A refused case call (403/404) leaves a denial entry before the problem is answered."""
    try:
        yield
    except LOGGED_REFUSALS as refused:
        entry = _entry(runtime, actor, action, case_id, refused)
        aggregate = runtime.refusals
        events = aggregate.events(entry)
        if events:
            try:
                runtime.audit.append_sync(events)
            except AuditUnavailable:
                aggregate.unwritten(entry)  # answered 503; the next refusal writes again
                raise
        raise


@asynccontextmanager
async def logging_refusals_async(
    runtime: Runtime, actor: Actor, action: str, case_id: str
) -> AsyncIterator[None]:
    try:
        yield
    except LOGGED_REFUSALS as refused:
        entry = _entry(runtime, actor, action, case_id, refused)
        aggregate = runtime.refusals
        events = aggregate.events(entry)
        if events:
            try:
                await runtime.audit.append(events)
            except AuditUnavailable:
                aggregate.unwritten(entry)
                raise
        raise
