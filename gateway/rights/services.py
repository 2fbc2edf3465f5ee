"""The rights desk for one runtime, built on first use and kept in ``runtime.extras``.

Forwarding shares the brokering layer's HTTP client (pooled connections to
the same sources). :func:`install_rights` runs at app creation and touches no
key file: it only registers the /privacy provider and the overdue gauge.
"""

from __future__ import annotations

import threading

from gateway.auth.services import auth_services
from gateway.brokering.registry import ConnectorRegistry
from gateway.brokering.services import brokering_services
from gateway.rights.desk import RightsDesk
from gateway.rights.forwarding import Forwarder
from gateway.rights.overdue import OverdueRegister, watch_overdue
from gateway.rights.sealing import RequestSealer
from gateway.rights.service import RightsService
from gateway.runtime import Runtime

_EXTRAS_KEY = "rights.desk"
_lock = threading.Lock()


def rights_desk(runtime: Runtime) -> RightsDesk:
    with _lock:
        found = runtime.extras.get(_EXTRAS_KEY)
        if isinstance(found, RightsDesk):
            return found
        holder = runtime.policy
        service = RightsService(
            lambda: holder.current,
            runtime.pseudonymizer,
            RequestSealer(runtime.audit.vault),
            runtime.audit,
        )
        registry = ConnectorRegistry(
            brokering_services(runtime).client,
            auth_services(runtime).source_tokens,
            default_timeout_s=runtime.settings.source_timeout_s,
        )
        forwarder = Forwarder(registry, lambda: holder.current, runtime.settings.source_timeout_s)
        desk = RightsDesk(
            runtime.db,
            service,
            forwarder,
            runtime.audit.vault,
            lambda: holder.current,
            runtime.audit,
        )
        runtime.extras[_EXTRAS_KEY] = desk
        return desk


def install_rights(runtime: Runtime) -> OverdueRegister:
    """Register the /privacy overdue provider and count this runtime in the gauge."""
    from gateway.web.privacy.rights import OVERDUE_PROVIDER_KEY  # lazily: web imports us

    register = OverdueRegister(runtime.db)
    runtime.extras[OVERDUE_PROVIDER_KEY] = register
    watch_overdue(register)
    return register
