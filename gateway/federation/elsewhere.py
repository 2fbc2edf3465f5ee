"""'Is this case's person known at another Zorg- en Veiligheidshuis?' asked of every peer.

No central hub: each peer gateway of the case's covenant is asked concurrently.
Asking is a disclosure like any other — the subject's BSN goes to the peer —
so each peer is first decided under our covenant as a source of the category
``betrokkenheid`` (the requester participates, the case is open, a rule lets
the requester receive it from that peer in this phase). Every answer, denial
and failure is logged before the caller sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import anyio
from opentelemetry import trace

from connectors import (
    ConnectorConfigError,
    GatewayConnector,
    KnownAnswer,
    KnownQuery,
    Requester,
    UnsupportedSourceError,
)
from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.brokering.registry import ConnectorRegistry
from gateway.cases.service import Actor, CaseRecord, CaseService
from gateway.federation.rules import KNOWN_CATEGORY
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import DecisionRequest, decide
from gateway.spans import CurrentSpan
from gateway.storage.db import Database
from gateway.subjects.bsn import Bsn
from gateway.telemetry import current_trace_ids

tracer = trace.get_tracer("ketenpoort.federation")


@dataclass(frozen=True)
class PeerAnswer:
    peer: str
    region: str
    status: str  # known | unknown | unavailable | denied
    reason: str


@dataclass
class _Plan:
    case: CaseRecord
    policy: CompiledPolicy
    answers: dict[str, PeerAnswer]
    permitted: list[str]
    bsn: Bsn | None


class KnownElsewhere:
    def __init__(
        self,
        db: Database,
        cases: CaseService,
        policy: Callable[[], CompiledPolicy],
        registry: ConnectorRegistry,
        audit: AuditAppender,
        *,
        default_timeout_s: float,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._db = db
        self._cases = cases
        self._policy = policy
        self._registry = registry
        self._audit = audit
        self._default_timeout_s = default_timeout_s
        self._today = today

    async def ask(self, actor: Actor, case_id: str) -> tuple[list[PeerAnswer], str | None]:
        """One answer per peer gateway of the covenant, and the trace id that ties the logs."""
        with CurrentSpan(tracer, "ketenpoort.known_elsewhere", {"ketenpoort.case": case_id}):
            plan = await anyio.to_thread.run_sync(self._plan, actor, case_id)
            if plan.bsn is not None:
                asked = await asyncio.gather(
                    *(self._ask_peer(actor, plan, peer, plan.bsn) for peer in plan.permitted)
                )
                for peer, answer in zip(plan.permitted, asked, strict=True):
                    plan.answers[peer] = PeerAnswer(
                        peer, plan.answers[peer].region, answer.status, answer.reason
                    )
            answers = list(plan.answers.values())
            await self._audit.append([self._event(actor, plan, a) for a in answers])
            trace_id, _ = current_trace_ids()
            return answers, trace_id

    def _plan(self, actor: Actor, case_id: str) -> _Plan:
        policy = self._policy()
        today = self._today()
        with self._db.session() as session:
            case = self._cases.get(session, actor, case_id)
            covenant = policy.covenant(case.convenant)
            peers = [
                p
                for p in (covenant.parties if covenant is not None else ())
                if p.source is not None and p.source.type == "gateway"
            ]
            answers: dict[str, PeerAnswer] = {}
            permitted: list[str] = []
            for peer in peers:
                decision = decide(
                    policy,
                    today,
                    DecisionRequest(
                        token_covenant=actor.covenant,
                        token_purpose=actor.purpose,
                        requester_party=actor.party,
                        case=case.decision_view(),
                        source_party=peer.id,
                        category=KNOWN_CATEGORY,
                    ),
                )
                status = "pending" if decision.permitted else "denied"
                answers[peer.id] = PeerAnswer(peer.id, peer.name, status, decision.reason.value)
                if decision.permitted:
                    permitted.append(peer.id)
            bsn = self._cases.subject_bsn(session, case) if permitted else None
        return _Plan(case, policy, answers, permitted, bsn)

    async def _ask_peer(self, actor: Actor, plan: _Plan, peer: str, bsn: Bsn) -> KnownAnswer:
        try:
            connector = self._registry.get(plan.policy, actor.covenant, peer)
        except (ConnectorConfigError, UnsupportedSourceError):
            return KnownAnswer("unavailable", "no_connector")
        if not isinstance(connector, GatewayConnector):
            return KnownAnswer("unavailable", "no_connector")
        timeout = self._registry.timeout_s(
            plan.policy, actor.covenant, peer, self._default_timeout_s
        )
        query = KnownQuery(
            subject=bsn,
            convenant=actor.covenant,
            purpose=actor.purpose,
            case=plan.case.id,
            phase=plan.case.phase,
            requester=Requester(actor.party, actor.employee),
        )
        with CurrentSpan(tracer, "ketenpoort.peer_known", {"ketenpoort.peer": peer}):
            try:
                return await asyncio.wait_for(connector.known(query), timeout)
            except TimeoutError:
                return KnownAnswer("unavailable", "peer_timeout")

    def _event(self, actor: Actor, plan: _Plan, answer: PeerAnswer) -> AuditEvent:
        return AuditEvent(
            kind="decision",
            outcome=answer.status,
            reason=answer.reason,
            party=actor.party,
            employee=actor.employee,
            convenant=actor.covenant,
            purpose=actor.purpose,
            case=plan.case.id,
            source=answer.peer,
            category=KNOWN_CATEGORY,
            subject_pseudonym=plan.case.subject_pseudonym,
            covenant_version=plan.policy.covenant_version(actor.covenant),
            processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
            details={"federation": "known_elsewhere"},
        )
