"""'Is this person known here?' answered for a peer gateway: one bit, policy-checked, logged.

The answer is whether this region has an *open* case for the person under the
covenant the peer's token is bound to; nothing about the case. Mirror cases
(opened by a peer gateway) do not count: they mean another region asked, not
that this region works with the person. The question itself is logged under
the person's pseudonym, so their *inzage* here shows which region asked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.brokering.broker import AuditSink
from gateway.cases.models import Case
from gateway.cases.service import Actor
from gateway.federation.rules import (
    FEDERATION_ROLE,
    KNOWN_CATEGORY,
    FederationRefused,
    known_rule_reason,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.storage.db import Database
from gateway.subjects.bsn import Bsn, Pseudonymizer


class KnownHere:
    def __init__(
        self,
        db: Database,
        policy: Callable[[], CompiledPolicy],
        pseudonymizer: Pseudonymizer,
        audit: AuditSink,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._db = db
        self._policy = policy
        self._pseudonymizer = pseudonymizer
        self._audit = audit
        self._today = today

    async def answer(self, actor: Actor, bsn: Bsn, peer_case: str | None) -> bool:
        """True or False once the question is logged; :class:`FederationRefused` if denied."""
        policy = self._policy()
        pseudonym = self._pseudonymizer.pseudonym(bsn)
        reason = known_rule_reason(policy, actor, self._today())
        known = None
        if reason is None:
            known = await anyio.to_thread.run_sync(self._lookup, policy, actor, pseudonym)
        outcome = "denied" if known is None else ("known" if known else "unknown")
        await self._audit.append(
            [
                AuditEvent(
                    kind="decision",
                    outcome=outcome,
                    reason=reason or "permitted",
                    party=actor.party,
                    employee=actor.employee,
                    convenant=actor.covenant,
                    purpose=actor.purpose,
                    category=KNOWN_CATEGORY,
                    subject_pseudonym=pseudonym,
                    subject_scope="subject",
                    covenant_version=policy.covenant_version(actor.covenant),
                    processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
                    details={"federation": "known", "peer_case": peer_case},
                )
            ]
        )
        if known is None:
            raise FederationRefused(extensions={"reason": reason})
        return known

    def _lookup(self, policy: CompiledPolicy, actor: Actor, pseudonym: str) -> bool:
        covenant = policy.covenant(actor.covenant)
        peers = (
            [p.id for p in covenant.parties if FEDERATION_ROLE in p.roles]
            if covenant is not None
            else []
        )
        with self._db.session() as session:
            return _has_open_case(session, actor.covenant, pseudonym, peers)


def _has_open_case(session: Session, covenant: str, pseudonym: str, peers: list[str]) -> bool:
    query = select(Case.id).where(
        Case.convenant == covenant,
        Case.subject_pseudonym == pseudonym,
        Case.status == "open",
    )
    if peers:
        query = query.where(Case.opened_by.not_in(peers))
    return session.scalar(query.limit(1)) is not None
