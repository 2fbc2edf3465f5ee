"""The OvJ's decisions with their audit entries, in one transaction.

Both doors (the partner API and the /ovj page) come through here: the state
change and its log entry commit together or not at all, so no grant, refusal
or revocation exists without its entry, and no entry without its change.

A party that is not the OvJ of the covenant and still tries to list, read,
decide or revoke is refused (403 ``not-om``) and that attempt is itself an
entry (``kind=consent``, ``outcome=denied``, ``reason=not_om``), written in its
own transaction because the refused one is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date

from sqlalchemy.orm import Session

from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent
from gateway.consent.events import consent_event
from gateway.consent.models import ConsentRequest
from gateway.consent.service import (
    ConsentDecision,
    ConsentService,
    ConsentView,
    NotCompetent,
    NotOm,
    OmActor,
    OtherCovenant,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import NotFound
from gateway.storage.db import Database


class ConsentDesk:
    def __init__(
        self,
        db: Database,
        consents: ConsentService,
        audit: AuditAppender,
        policy: Callable[[], CompiledPolicy],
    ) -> None:
        self._db = db
        self._consents = consents
        self._audit = audit
        self._policy = policy

    def covenant_of(self, consent_id: str) -> str:
        """The covenant a request belongs to: a human OvJ acts in that covenant's name."""
        with self._db.session() as session:
            row = session.get(ConsentRequest, consent_id)
            if row is None:
                raise NotFound(detail="No such consent request.")
            return row.convenant

    def is_om(self, actor: OmActor) -> bool:
        """Whether the actor's party decides consents in its covenant (role ``om``, or an
        authority a category's ``agreement_required_from`` names)."""
        try:
            self._consents.require_om_role(actor)
        except NotOm:
            return False
        return True

    def find(self, actor: OmActor, status: str | None) -> list[ConsentView]:
        with self._refusals_logged(actor, "list", None), self._db.session() as session:
            return self._consents.find(session, actor, status)

    def get(self, actor: OmActor, consent_id: str) -> ConsentView:
        with self._refusals_logged(actor, "read", consent_id), self._db.session() as session:
            return self._consents.get(session, actor, consent_id)

    def decide(
        self,
        actor: OmActor,
        consent_id: str,
        *,
        decision: ConsentDecision,
        reason: str,
        valid_until: date | None,
        categories: Sequence[str] | None = None,
        recipients: Sequence[str] | None = None,
        withheld_until: date | None = None,
        version: int | None = None,
        sources: Sequence[str] | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> ConsentView:
        with self._refusals_logged(actor, "decide", consent_id), self._db.session() as session:
            view = self._consents.decide(
                session,
                actor,
                consent_id,
                decision=decision,
                reason=reason,
                valid_until=valid_until,
                categories=categories,
                recipients=recipients,
                withheld_until=withheld_until,
                version=version,
                sources=sources,
                fields=fields,
            )
            self._log(session, actor, view, decision)
        return view

    def revoke(self, actor: OmActor, consent_id: str, reason: str) -> ConsentView:
        with self._refusals_logged(actor, "revoke", consent_id), self._db.session() as session:
            view = self._consents.revoke(session, actor, consent_id, reason)
            self._log(session, actor, view, "revoked")
        return view

    def _log(self, session: Session, actor: OmActor, view: ConsentView, outcome: str) -> None:
        event = consent_event(
            session, self._policy(), view, outcome, party=actor.party, employee=actor.employee
        )
        self._audit.append_in(session, [event])

    @contextmanager
    def _refusals_logged(
        self, actor: OmActor, action: str, consent_id: str | None
    ) -> Iterator[None]:
        try:
            yield
        except NotOm:
            self.log_refusal(actor, action, consent_id)
            raise
        except OtherCovenant:
            self.log_refusal(actor, action, consent_id, reason=OtherCovenant.reason)
            raise
        except NotCompetent:
            self.log_refusal(actor, action, consent_id, reason=NotCompetent.reason)
            raise

    def log_refusal(
        self, actor: OmActor, action: str, consent_id: str | None, reason: str = NotOm.reason
    ) -> None:
        """One entry per refused attempt; identifiers only (no subject: none was touched)."""
        event = AuditEvent(
            kind="consent",
            outcome="denied",
            reason=reason,
            party=actor.party,
            employee=actor.employee,
            convenant=actor.covenant or None,
            consent_id=consent_id,
            covenant_version=self._policy().covenant_version(actor.covenant),
            details={"action": action},
        )
        with self._db.session() as session:
            self._audit.append_in(session, [event])
