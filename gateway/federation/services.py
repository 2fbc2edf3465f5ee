"""The federation services of one runtime, built on the brokering services they share.

Sharing matters: the connector registry (and with it the peer token cache and
the pooled HTTP client) is the broker's, so a peer is logged in once per
process whether a query or a "known elsewhere?" question reaches it first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gateway.brokering.services import brokering_services
from gateway.cases.sealing import VaultSealer
from gateway.federation.elsewhere import KnownElsewhere
from gateway.federation.known import KnownHere
from gateway.federation.mirror import MirrorCases
from gateway.runtime import Runtime

_EXTRAS_KEY = "federation"
_lock = threading.Lock()


@dataclass(frozen=True)
class FederationServices:
    mirrors: MirrorCases
    known_here: KnownHere
    known_elsewhere: KnownElsewhere


def federation_services(runtime: Runtime) -> FederationServices:
    brokering = brokering_services(runtime)
    with _lock:
        services = runtime.extras.get(_EXTRAS_KEY)
        if isinstance(services, FederationServices):
            return services
        holder = runtime.policy
        services = FederationServices(
            mirrors=MirrorCases(
                lambda: holder.current,
                brokering.cases,
                runtime.pseudonymizer,
                VaultSealer(runtime.audit.vault),
            ),
            known_here=KnownHere(
                runtime.db, lambda: holder.current, runtime.pseudonymizer, runtime.audit
            ),
            known_elsewhere=KnownElsewhere(
                runtime.db,
                brokering.cases,
                lambda: holder.current,
                brokering.registry,
                runtime.audit,
                default_timeout_s=runtime.settings.source_timeout_s,
            ),
        )
        runtime.extras[_EXTRAS_KEY] = services
        return services
