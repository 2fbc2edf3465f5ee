"""Log every refused case call and query before the problem is answered (promise 5).

A 403, a 404 or an up-front 422 for unknown ids leaves a ``decision``/``denied``
entry with the problem's reason (gateway/cases/refusals.py): the first of a
minute per (party, action, reason, covenant, purpose) at once, the rest of that
minute as one counted entry (a :class:`RefusalAggregate`), so a partner
hammering refused calls cannot flood the log. A refusal whose entry cannot be
written is a 503, like any other unloggable action.

It lives here, not at the HTTP door, so the case desk can take it as a plain
hook from the composition root; the API's ``logging_refusals`` is a shim over it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog, AuditUnavailable
from gateway.brokering.known_ids import UnknownIds
from gateway.cases.refusals import RefusalAggregate, refusal_event, refusal_reason
from gateway.cases.service import Actor
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Forbidden, NotFound, Problem

LOGGED_REFUSALS = (Forbidden, NotFound, UnknownIds)


class RefusalLog:
    """Turns refused calls into (aggregated) denial entries, sync and async."""

    def __init__(
        self,
        audit: AuditLog,
        aggregate: RefusalAggregate,
        policy: Callable[[], CompiledPolicy],
    ) -> None:
        self._audit = audit
        self._aggregate = aggregate
        self._policy = policy

    def _entry(
        self, actor: Actor, action: str, case_id: str | None, problem: Problem
    ) -> AuditEvent:
        return refusal_event(
            actor,
            action=action,
            reason=refusal_reason(problem),
            case_id=case_id,
            covenant_version=self._policy().covenant_version(actor.covenant),
            details=problem.audit_details() if isinstance(problem, UnknownIds) else None,
        )

    @contextmanager
    def guard(self, actor: Actor, action: str, case_id: str | None = None) -> Iterator[None]:
        """A refused call leaves a denial entry before the problem is answered."""
        try:
            yield
        except LOGGED_REFUSALS as refused:
            entry = self._entry(actor, action, case_id, refused)
            events = self._aggregate.events(entry)
            if events:
                try:
                    self._audit.append_sync(events)
                except AuditUnavailable:
                    self._aggregate.unwritten(entry)  # answered 503; the next one writes again
                    raise
            raise

    @asynccontextmanager
    async def guard_async(
        self, actor: Actor, action: str, case_id: str | None = None
    ) -> AsyncIterator[None]:
        try:
            yield
        except LOGGED_REFUSALS as refused:
            entry = self._entry(actor, action, case_id, refused)
            events = self._aggregate.events(entry)
            if events:
                try:
                    await self._audit.append(events)
                except AuditUnavailable:
                    self._aggregate.unwritten(entry)
                    raise
            raise
