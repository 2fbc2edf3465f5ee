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

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from types import TracebackType

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

    def guard_async(
        self, actor: Actor, action: str, case_id: str | None = None
    ) -> AbstractAsyncContextManager[None]:
        """:meth:`guard` for ``async with``: the entry is appended without blocking the loop."""
        return _AsyncGuard(self, actor, action, case_id)

    async def _refused(
        self, actor: Actor, action: str, case_id: str | None, refused: Problem
    ) -> None:
        entry = self._entry(actor, action, case_id, refused)
        events = self._aggregate.events(entry)
        if events:
            try:
                await self._audit.append(events)
            except AuditUnavailable:
                self._aggregate.unwritten(entry)
                raise


class _AsyncGuard(AbstractAsyncContextManager[None]):
    """:meth:`RefusalLog.guard_async` as a class: every brokered query enters one, and an
    ``asynccontextmanager`` costs an async generator (registered with the loop and
    resumed twice) and its wrapper, ~5 Python calls more (issue 16)."""

    __slots__ = ("_action", "_actor", "_case_id", "_log")

    def __init__(self, log: RefusalLog, actor: Actor, action: str, case_id: str | None) -> None:
        self._log = log
        self._actor = actor
        self._action = action
        self._case_id = case_id

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The refusal propagates as it was (None returned); an unwritable entry is a 503.
        if exc is not None and isinstance(exc, LOGGED_REFUSALS):
            await self._log._refused(self._actor, self._action, self._case_id, exc)
