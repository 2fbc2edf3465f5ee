"""The outcome of a correctie/verzet at a peer region comes back: a pull, per forwarding.

A request forwarded to a peer gateway keeps the peer's own request id on its
forwarding entry (``peer_request``). This job asks each peer where its
request stands (``PeerRightsExchange.peer_rights_outcome``) and stores the
answer on the entry: ``outcome`` (the peer's status: pending, granted,
partially_granted, refused, withdrawn), ``outcome_at`` (its decision),
``executed_at`` (a granted correctie carried out there) and ``synced_at``.
A change is logged here (``kind=rights``, ``outcome=peer_outcome``, the peer
as ``source``, its status as ``reason``), under the person's own key.

Why a pull and not a callback: the peer needs no way to reach us (no extra
endpoint to secure, no covenant rule for the way back), and a peer that is
down simply answers next round. A failure keeps the last known state and
never raises out of the job; it is logged by type and reason only.

Which entries: those whose outcome is not final yet (final: refused or
withdrawn; a granted verzet; a granted correctie the peer carried out), of
requests received in the last :data:`WINDOW` — a peer that never decides is
not asked for ever.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors import (
    PeerDenied,
    PeerDown,
    PeerRightsExchange,
    PeerRightsOutcome,
    SourceUnavailable,
)
from gateway.cases.models import Case
from gateway.periodic import PeriodicJob
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.forwarding import SourceConnectors
from gateway.rights.models import RightsRequest
from gateway.rights.service import RightsService, purpose_of
from gateway.storage.db import Database

log = logging.getLogger("ketenpoort.rights")

WINDOW: Final = timedelta(days=365)
FINAL: Final = frozenset({"refused", "withdrawn"})
GRANTED: Final = frozenset({"granted", "partially_granted"})


@dataclass(frozen=True)
class PeerAsk:
    """One forwarding to ask about: our request, the peer party, its request id, the scope."""

    request: str
    convenant: str
    party: str
    peer_request: str
    purpose: str


@dataclass(frozen=True)
class SyncReport:
    asked: int = 0
    changed: int = 0
    failed: int = 0


def is_final(entry: dict[str, object], request_type: str) -> bool:
    """Nothing more will change at the peer: stop asking."""
    outcome = entry.get("outcome")
    if outcome in FINAL:
        return True
    if outcome in GRANTED:
        return request_type != "correctie" or entry.get("executed_at") is not None
    return False


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


class PeerOutcomes:
    """Pulls peer outcomes; ``sync`` never raises for a peer or for one bad request."""

    def __init__(
        self,
        db: Database,
        service: RightsService,
        registry: SourceConnectors,
        policy: Callable[[], CompiledPolicy],
        default_timeout_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._service = service
        self._registry = registry
        self._policy = policy
        self._default_timeout_s = default_timeout_s
        self._now = now

    async def sync(self) -> SyncReport:
        asks = await anyio.to_thread.run_sync(self._pending)
        answers = await asyncio.gather(*(self._ask(ask) for ask in asks))
        changed = 0
        for ask, answer in zip(asks, answers, strict=True):
            if answer is None:
                continue
            try:
                if await anyio.to_thread.run_sync(self._store, ask, answer):
                    changed += 1
            except Exception as error:  # noqa: BLE001 - one bad row must not stop the round
                log.error("storing a peer outcome failed: %s", type(error).__name__)
        failed = sum(1 for answer in answers if answer is None)
        return SyncReport(asked=len(asks), changed=changed, failed=failed)

    def _pending(self) -> list[PeerAsk]:
        """Forwardings to peers whose outcome is not final, of requests in the window."""
        since = self._now() - WINDOW
        policy = self._policy()
        asks: list[PeerAsk] = []
        with self._db.session() as session:
            rows = session.scalars(
                select(RightsRequest).where(
                    RightsRequest.received_at >= since,
                    RightsRequest.forwarded_json.contains('"peer_request"', autoescape=True),
                )
            )
            for row in rows:
                purpose = self._purpose(session, policy, row)
                for entry in json.loads(row.forwarded_json):
                    peer_request = entry.get("peer_request")
                    if not peer_request or is_final(entry, row.type) or purpose is None:
                        continue
                    asks.append(
                        PeerAsk(row.id, row.convenant, str(entry["party"]), peer_request, purpose)
                    )
        return asks

    @staticmethod
    def _purpose(session: Session, policy: CompiledPolicy, row: RightsRequest) -> str | None:
        """The purpose the request was forwarded under (``RightsService``: its first case's)."""
        cases: Sequence[Case] = []
        if row.cases:
            first = session.get(Case, row.cases[0])
            cases = [first] if first is not None else []
        return purpose_of(policy.covenant(row.convenant), cases)

    async def _ask(self, ask: PeerAsk) -> PeerRightsOutcome | None:
        policy = self._policy()
        try:
            connector = self._registry.get(policy, ask.convenant, ask.party)
            if not isinstance(connector, PeerRightsExchange):
                log.warning("peer %s no longer has a gateway connector", ask.party)
                return None
            timeout = self._registry.timeout_s(
                policy, ask.convenant, ask.party, self._default_timeout_s
            )
            return await asyncio.wait_for(
                connector.peer_rights_outcome(ask.peer_request, ask.convenant, ask.purpose),
                timeout,
            )
        except (PeerDown, PeerDenied) as error:
            log.warning("peer %s outcome not available: %s", ask.party, error.reason)
        except TimeoutError:
            log.warning("peer %s outcome not available: timeout", ask.party)
        except SourceUnavailable as error:
            log.warning("peer %s outcome not available: %s", ask.party, error.reason)
        except Exception as error:  # noqa: BLE001 - a broken connector must not stop the job
            log.error("peer %s outcome failed: %s", ask.party, type(error).__name__)
        return None

    def _store(self, ask: PeerAsk, answer: PeerRightsOutcome) -> bool:
        with self._db.session() as session:
            return self._service.record_peer_outcome(
                session,
                ask.request,
                ask.party,
                ask.peer_request,
                status=answer.status,
                decided_at=_iso(answer.decided_at),
                executed_at=_iso(answer.executed_at),
                synced_at=_iso(self._now()),
            )


class PeerOutcomeJob(PeriodicJob):
    """The pull inside every ``serve`` process, every ``interval_s``; it outlives any failure."""

    def __init__(self, outcomes: Callable[[], PeerOutcomes], interval_s: float) -> None:
        super().__init__("peer-outcomes", self._sync, interval_s, log)
        self._outcomes = outcomes

    async def _sync(self) -> SyncReport:
        return await self._outcomes().sync()
