"""The case desk of one runtime, on the broker's own :class:`CaseService`.

Reached like the consent desk (``gateway/consent/services.py``): built per
call from the runtime's parts, cheap, holding no state of its own.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from gateway.api.refusals import logging_refusals
from gateway.brokering.services import brokering_services
from gateway.cases.desk import CaseDesk
from gateway.cases.service import Actor
from gateway.runtime import Runtime


def case_desk(runtime: Runtime) -> CaseDesk:
    holder = runtime.policy

    def refusals(actor: Actor, action: str, case_id: str | None) -> AbstractContextManager[None]:
        return logging_refusals(runtime, actor, action, case_id)

    return CaseDesk(
        runtime.db,
        brokering_services(runtime).cases,
        runtime.audit,
        lambda: holder.current,
        refusals,
    )
