"""Cases, consents and the broker for one runtime, built on first use.

One ``httpx.AsyncClient`` per process: connections to each source are pooled
across queries; it is closed when the app shuts down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

from gateway.auth.services import auth_services
from gateway.brokering.broker import Broker
from gateway.brokering.contesting import ContestedMarker
from gateway.brokering.registry import ConnectorRegistry
from gateway.cases.sealing import VaultSealer
from gateway.cases.service import CaseService
from gateway.consent.service import ConsentService
from gateway.consent.webhook import ConsentWebhooks
from gateway.copies import CopyStore
from gateway.federation.tokens import PeerTokenClient
from gateway.rights.contested import corrected_since, pending_correcties
from gateway.rights.objections import VerzetRegister
from gateway.runtime import Runtime

_EXTRAS_KEY = "brokering"
_lock = threading.Lock()


@dataclass(frozen=True)
class BrokeringServices:
    cases: CaseService
    consents: ConsentService
    broker: Broker
    client: httpx.AsyncClient
    registry: ConnectorRegistry

    async def aclose(self) -> None:
        await self.client.aclose()


def brokering_services(runtime: Runtime) -> BrokeringServices:
    with _lock:
        services = runtime.extras.get(_EXTRAS_KEY)
        if isinstance(services, BrokeringServices):
            return services
        holder = runtime.policy

        cases = CaseService(
            lambda: holder.current, runtime.pseudonymizer, VaultSealer(runtime.audit.vault)
        )
        webhooks = ConsentWebhooks(runtime.keys, runtime.settings.base_url, lambda: holder.current)
        verzet = VerzetRegister(lambda: holder.current)
        consents = ConsentService(
            lambda: holder.current,
            notifier=webhooks,
            audit=runtime.audit,
            objection=lambda session, pseudonym, case_id: verzet.active(
                session, subject_pseudonym=pseudonym, case_id=case_id
            ),
        )
        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
        )
        registry = ConnectorRegistry(
            client,
            auth_services(runtime).source_tokens,
            peer_tokens=PeerTokenClient(runtime.keys, client),
            default_timeout_s=runtime.settings.source_timeout_s,
        )
        broker = Broker(
            runtime.db,
            cases,
            lambda: holder.current,
            registry,
            runtime.audit,
            consents=consents,
            objections=verzet,
            copies=CopyStore(runtime.db, runtime.audit.vault, corrected=corrected_since),
            contested=ContestedMarker(runtime.db, pending_correcties),
            default_timeout_s=runtime.settings.source_timeout_s,
        )
        services = BrokeringServices(cases, consents, broker, client, registry)
        runtime.extras[_EXTRAS_KEY] = services
        return services


async def close_brokering(runtime: Runtime) -> None:
    services = runtime.extras.pop(_EXTRAS_KEY, None)
    if isinstance(services, BrokeringServices):
        await services.aclose()
