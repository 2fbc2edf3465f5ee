"""The consent desk of one runtime, on the broker's own :class:`ConsentService`.

One service instance per runtime matters: it carries the OM webhook notifier,
and the broker and the OvJ must see one register.
"""

from __future__ import annotations

from gateway.brokering.services import brokering_services
from gateway.consent.desk import ConsentDesk
from gateway.runtime import Runtime


def consent_desk(runtime: Runtime) -> ConsentDesk:
    holder = runtime.policy
    return ConsentDesk(
        runtime.db,
        brokering_services(runtime).consents,
        runtime.audit,
        lambda: holder.current,
    )
