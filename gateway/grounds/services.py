"""The ground desk of one runtime, on the broker's own case service."""

from __future__ import annotations

from gateway.brokering.services import brokering_services
from gateway.grounds.desk import GroundDesk
from gateway.grounds.service import GroundService
from gateway.runtime import Runtime


def ground_desk(runtime: Runtime) -> GroundDesk:
    holder = runtime.policy
    services = brokering_services(runtime)
    return GroundDesk(
        runtime.db,
        GroundService(services.cases, lambda: holder.current),
        runtime.audit,
        lambda: holder.current,
    )
