"""'Is this person known here?' answered for a peer gateway: one bit, policy-checked, logged.

The answer is whether this region has an *open* case for the person under the
covenant the peer's token is bound to; nothing about the case. Mirror cases
(opened by a peer gateway) do not count: they mean another region asked, not
that this region works with the person. A question about a person known here
is logged under their pseudonym (the open case's key), so their *inzage* here
shows which region asked; a refused question, or one about a person unknown
here, names nobody and creates no key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent, processing_activity_uri
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
        audit: AuditAppender,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._db = db
        self._policy = policy
        self._pseudonymizer = pseudonymizer
        self._audit = audit
        self._today = today

    async def answer(self, actor: Actor, bsn: Bsn, peer_case: str | None) -> bool:
        """True or False once the question is logged; :class:`FederationRefused` if denied.

        The caller must be a peer with a rule first: a refused question is
        logged without the person (nothing about them was processed). An
        answered one is logged under the person only when they are known here,
        under the key of the open case that made them known; a lookup never
        creates a subject key (else any caller could mint vault keys for any BSN).
        """
        policy = self._policy()
        reason = known_rule_reason(policy, actor, self._today())
        if reason is not None:
            await self._audit.append([self._event(policy, actor, "denied", reason, peer_case)])
            raise FederationRefused(extensions={"reason": reason})
        pseudonym = self._pseudonymizer.pseudonym(bsn)
        case_id = await anyio.to_thread.run_sync(self._lookup, policy, actor, pseudonym)
        known = case_id is not None
        event = self._event(policy, actor, "known" if known else "unknown", "permitted", peer_case)
        if case_id is not None:
            event = replace(event, case=case_id, subject_pseudonym=pseudonym)
        await self._audit.append([event])
        return known

    def _event(
        self,
        policy: CompiledPolicy,
        actor: Actor,
        outcome: str,
        reason: str,
        peer_case: str | None,
    ) -> AuditEvent:
        return AuditEvent(
            kind="decision",
            outcome=outcome,
            reason=reason,
            party=actor.party,
            employee=actor.employee,
            convenant=actor.covenant,
            purpose=actor.purpose,
            category=KNOWN_CATEGORY,
            covenant_version=policy.covenant_version(actor.covenant),
            processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
            details={"federation": "known", "peer_case": peer_case},
        )

    def _lookup(self, policy: CompiledPolicy, actor: Actor, pseudonym: str) -> str | None:
        covenant = policy.covenant(actor.covenant)
        peers = (
            [p.id for p in covenant.parties if FEDERATION_ROLE in p.roles]
            if covenant is not None
            else []
        )
        with self._db.session() as session:
            return _open_case(session, actor.covenant, pseudonym, peers)


def _open_case(session: Session, covenant: str, pseudonym: str, peers: list[str]) -> str | None:
    query = select(Case.id).where(
        Case.convenant == covenant,
        Case.subject_pseudonym == pseudonym,
        Case.status == "open",
    )
    if peers:
        query = query.where(Case.opened_by.not_in(peers))
    return session.scalar(query.order_by(Case.created_at).limit(1))
