"""The one reports desk of a runtime (built on first use, like the other desks)."""

from __future__ import annotations

from gateway.reports.desk import ReportDesk
from gateway.reports.oversight import OversightDesk
from gateway.runtime import Runtime

_KEY = "reports.desk"


def report_desk(runtime: Runtime) -> ReportDesk:
    desk = runtime.extras.get(_KEY)
    if not isinstance(desk, ReportDesk):
        desk = ReportDesk(
            db=runtime.db,
            audit=runtime.audit,
            policy=lambda: runtime.policy.current,
            threshold=runtime.settings.report_small_count,
        )
        runtime.extras[_KEY] = desk
    return desk


def oversight_desk(runtime: Runtime) -> OversightDesk:
    return OversightDesk(runtime.db, runtime.audit, lambda: runtime.policy.current)
