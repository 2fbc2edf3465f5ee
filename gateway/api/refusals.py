"""Log every refused case call and query before the problem is answered (promise 5).

Handlers wrap their work in :func:`logging_refusals`; the runtime's
:class:`~gateway.brokering.refusal_log.RefusalLog` writes the (aggregated)
denial entry, so the API and the case desk log refusals the same way.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager

from gateway.brokering.refusal_log import LOGGED_REFUSALS
from gateway.cases.service import Actor
from gateway.wiring import Runtime

__all__ = ["LOGGED_REFUSALS", "logging_refusals", "logging_refusals_async"]


def logging_refusals(
    runtime: Runtime, actor: Actor, action: str, case_id: str | None = None
) -> AbstractContextManager[None]:
    """A refused case call (403/404) leaves a denial entry before the problem is answered."""
    return runtime.refusal_log.guard(actor, action, case_id)


def logging_refusals_async(
    runtime: Runtime, actor: Actor, action: str, case_id: str
) -> AbstractAsyncContextManager[None]:
    return runtime.refusal_log.guard_async(actor, action, case_id)
