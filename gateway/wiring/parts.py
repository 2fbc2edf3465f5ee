"""How every long-lived service is built from the runtime's foundations.

The one place that knows how the capabilities fit together.

Each builder takes what it needs explicitly. No capability builds another
capability's objects: the broker gets its consent register, objection
register and copy store from here, the rights desk its connector registry,
federation the broker's case service. Sharing is decided here too: one
``SourceHttp`` per process for the partner sources (aiohttp; connections to
each source pooled across queries, rights forwarding and deletion feeds), one
``httpx.AsyncClient`` for peer gateways and their tokens, one consent register for the broker
and the OvJ, one peer-token cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from connectors import SourceHttp
from gateway.audit.log import AuditLog
from gateway.auth.bearer import AccessTokenVerifier
from gateway.auth.denials import DenialAudit
from gateway.auth.server import GatewayAuthorizationServer
from gateway.auth.tokens import SourceTokenIssuer
from gateway.brokering.broker import Broker
from gateway.brokering.contesting import ContestedMarker
from gateway.brokering.registry import ConnectorRegistry
from gateway.cases.sealing import VaultSealer
from gateway.cases.service import CaseService
from gateway.consent.desk import ConsentDesk
from gateway.consent.service import ConsentService
from gateway.consent.webhook import ConsentWebhooks
from gateway.copies import CopyStore
from gateway.federation.desk import FederationDesk
from gateway.federation.elsewhere import KnownElsewhere
from gateway.federation.known import KnownHere
from gateway.federation.mirror import MirrorCases
from gateway.federation.rights import PeerRights
from gateway.federation.tokens import PeerTokenClient
from gateway.keys import KeyStore
from gateway.outbound import cookieless_jar
from gateway.policy import PolicyHolder
from gateway.policy.compiled import CompiledPolicy
from gateway.retention.deletions import DeletionFeeds
from gateway.retention.runner import RetentionRunner
from gateway.rights.contested import corrected_since, pending_correcties
from gateway.rights.desk import RightsDesk
from gateway.rights.forwarding import Forwarder
from gateway.rights.objections import VerzetRegister
from gateway.rights.peer_outcomes import PeerOutcomes
from gateway.rights.sealing import RequestSealer
from gateway.rights.service import RightsService
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.subjects.bsn import Pseudonymizer


@dataclass(frozen=True)
class Foundations:
    """What every service is built on; each part loads its secrets on first use."""

    settings: Settings
    db: Database
    keys: KeyStore
    policy: PolicyHolder
    audit: AuditLog

    def current_policy(self) -> Callable[[], CompiledPolicy]:
        """``policy.current`` read at each call, so a hot reload reaches every service."""
        holder = self.policy
        return lambda: holder.current


@dataclass(frozen=True)
class AuthServices:
    """The authorization server, the bearer verifier, source tokens and the denial log."""

    server: GatewayAuthorizationServer
    verifier: AccessTokenVerifier
    source_tokens: SourceTokenIssuer
    denials: DenialAudit


@dataclass(frozen=True)
class BrokeringServices:
    """Cases, consents and the broker over pooled HTTP clients and one connector registry."""

    cases: CaseService
    consents: ConsentService
    broker: Broker
    client: httpx.AsyncClient
    sources: SourceHttp
    registry: ConnectorRegistry

    async def aclose(self) -> None:
        await self.sources.aclose()
        await self.client.aclose()


@dataclass(frozen=True)
class FederationServices:
    desk: FederationDesk
    known_here: KnownHere
    known_elsewhere: KnownElsewhere
    rights: PeerRights


def build_auth(base: Foundations) -> AuthServices:
    issuer = base.settings.base_url
    audit = base.audit
    denials = DenialAudit(lambda: audit)
    return AuthServices(
        server=GatewayAuthorizationServer(
            issuer=issuer,
            keys=base.keys,
            policy=base.current_policy(),
            db=base.db,
            denials=denials,
        ),
        verifier=AccessTokenVerifier(base.keys, issuer),
        source_tokens=SourceTokenIssuer(base.keys, issuer),
        denials=denials,
    )


def build_brokering(
    base: Foundations, pseudonymizer: Pseudonymizer, auth: AuthServices
) -> BrokeringServices:
    policy = base.current_policy()
    timeout_s = base.settings.source_timeout_s
    cases = CaseService(policy, pseudonymizer, VaultSealer(base.audit.vault))
    webhooks = ConsentWebhooks(
        base.keys, base.settings.base_url, policy, dev_mode=base.settings.dev_mode
    )
    verzet = VerzetRegister(policy)
    consents = ConsentService(
        policy,
        notifier=webhooks,
        audit=base.audit,
        objection=lambda session, pseudonym, case_id: verzet.active(
            session, subject_pseudonym=pseudonym, case_id=case_id
        ),
    )
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        follow_redirects=False,
        cookies=cookieless_jar(),
    )
    sources = SourceHttp()
    registry = ConnectorRegistry(
        sources,
        client,
        auth.source_tokens,
        peer_tokens=PeerTokenClient(base.keys, client),
        default_timeout_s=timeout_s,
    )
    broker = Broker(
        base.db,
        cases,
        policy,
        registry,
        base.audit,
        consents=consents,
        objections=verzet,
        copies=CopyStore(base.db, base.audit.vault, corrected=corrected_since),
        contested=ContestedMarker(base.db, pending_correcties),
        default_timeout_s=timeout_s,
    )
    return BrokeringServices(cases, consents, broker, client, sources, registry)


def build_consent_desk(base: Foundations, brokering: BrokeringServices) -> ConsentDesk:
    """On the broker's own consent register: the broker and the OvJ must see one register."""
    return ConsentDesk(base.db, brokering.consents, base.audit, base.current_policy())


def build_rights_desk(
    base: Foundations,
    pseudonymizer: Pseudonymizer,
    auth: AuthServices,
    brokering: BrokeringServices,
) -> RightsDesk:
    """Forwarding uses the broker's registry: pooled connections, and peer gateways' tokens."""
    policy = base.current_policy()
    timeout_s = base.settings.source_timeout_s
    service = RightsService(policy, pseudonymizer, RequestSealer(base.audit.vault), base.audit)
    forwarder = Forwarder(brokering.registry, policy, timeout_s)
    return RightsDesk(base.db, service, forwarder, base.audit.vault, policy, base.audit)


def build_peer_outcomes(
    base: Foundations, pseudonymizer: Pseudonymizer, registry: ConnectorRegistry
) -> PeerOutcomes:
    """The pull of peer regions' outcomes, on a registry that can log in at peers."""
    policy = base.current_policy()
    service = RightsService(policy, pseudonymizer, RequestSealer(base.audit.vault), base.audit)
    return PeerOutcomes(base.db, service, registry, policy, base.settings.source_timeout_s)


def build_peer_registry(
    base: Foundations, auth: AuthServices, sources: SourceHttp, client: httpx.AsyncClient
) -> ConnectorRegistry:
    """A registry on a caller's own clients that can also log in at peer gateways (the CLI's)."""
    return ConnectorRegistry(
        sources,
        client,
        auth.source_tokens,
        peer_tokens=PeerTokenClient(base.keys, client),
        default_timeout_s=base.settings.source_timeout_s,
    )


def build_federation(
    base: Foundations,
    pseudonymizer: Pseudonymizer,
    brokering: BrokeringServices,
    rights: RightsDesk,
) -> FederationServices:
    """On the broker's registry: a peer is logged in once per process, whoever asks first."""
    policy = base.current_policy()
    mirrors = MirrorCases(policy, brokering.cases, pseudonymizer, VaultSealer(base.audit.vault))
    return FederationServices(
        desk=FederationDesk(base.db, mirrors, base.audit, policy),
        known_here=KnownHere(base.db, policy, pseudonymizer, base.audit),
        known_elsewhere=KnownElsewhere(
            base.db,
            brokering.cases,
            policy,
            brokering.registry,
            base.audit,
            default_timeout_s=base.settings.source_timeout_s,
        ),
        rights=PeerRights(rights, base.audit, policy),
    )


def build_retention_runner(
    base: Foundations,
    registry: ConnectorRegistry | None,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch_size: int = 1000,
) -> RetentionRunner:
    """With a ``registry`` the sources' deletion feeds are polled too (its client, its loop)."""
    policy = base.current_policy()
    feeds = DeletionFeeds(base.db, base.audit, policy, registry) if registry is not None else None
    return RetentionRunner(base.db, base.audit, policy, feeds=feeds, now=now, batch_size=batch_size)


def build_source_registry(
    base: Foundations, auth: AuthServices, sources: SourceHttp, client: httpx.AsyncClient
) -> ConnectorRegistry:
    """A registry on a caller's own clients (the CLI's, in its own event loop)."""
    return ConnectorRegistry(
        sources, client, auth.source_tokens, default_timeout_s=base.settings.source_timeout_s
    )
