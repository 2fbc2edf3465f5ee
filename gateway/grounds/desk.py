"""Recording and withdrawing a legal ground with its audit entry, in one transaction.

Both doors (the partner API and the person's /mijn page) come through here:
no ground is recorded or withdrawn without its ``ground`` entry, and no entry
exists without the change. Refusals at the API door are logged by the router's
``logging_refusals`` like every other refused case call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, DetailValue, processing_activity_uri
from gateway.cases.service import Actor, CaseRecord
from gateway.grounds.service import PERSON, GroundIn, GroundService, GroundView
from gateway.policy.compiled import CompiledPolicy
from gateway.storage.db import Database


class AuditAppender(Protocol):
    def append_in(self, session: Session, events: Sequence[AuditEvent]) -> list[int]: ...


class GroundDesk:
    def __init__(
        self,
        db: Database,
        grounds: GroundService,
        audit: AuditAppender,
        policy: Callable[[], CompiledPolicy],
    ) -> None:
        self._db = db
        self._grounds = grounds
        self._audit = audit
        self._policy = policy

    def record(self, actor: Actor, case_id: str, ground: GroundIn) -> GroundView:
        with self._db.session() as session:
            case, view = self._grounds.record(session, actor, case_id, ground)
            self._audit.append_in(session, [self._event(actor, case, view, "recorded")])
        return view

    def of_case(self, actor: Actor, case_id: str) -> list[GroundView]:
        with self._db.session() as session:
            return self._grounds.of_case(session, actor, case_id)

    def withdraw(self, actor: Actor, case_id: str, ground_id: str, reason: str) -> GroundView:
        with self._db.session() as session:
            case, view = self._grounds.withdraw(session, actor, case_id, ground_id, reason)
            self._audit.append_in(session, [self._event(actor, case, view, "withdrawn")])
        return view

    def of_person(self, pseudonyms: Sequence[str]) -> list[GroundView]:
        with self._db.session() as session:
            return self._grounds.of_person(session, pseudonyms)

    def withdraw_by_person(
        self,
        pseudonyms: Sequence[str],
        ground_id: str,
        reason: str,
        *,
        representative: str | None = None,
    ) -> GroundView:
        """The person's own withdrawal; the entry names no employee (the person acted).

        ``representative``: the relation of a representative's login acting for
        the person, recorded as ``details.representative`` like every entry a
        representative causes (docs/rights.md); never who the representative is.
        """
        with self._db.session() as session:
            view = self._grounds.withdraw_by_person(session, pseudonyms, ground_id, reason)
            details: dict[str, DetailValue] = {**self._details(view)}
            if representative is not None:
                details["representative"] = representative
            event = AuditEvent(
                kind="ground",
                outcome="withdrawn",
                reason="withdrawn_by_person",
                party=PERSON,
                case=view.case,
                subject_pseudonym=view.subject_pseudonym,
                details=details,
            )
            self._audit.append_in(session, [event])
        return view

    def _event(self, actor: Actor, case: CaseRecord, view: GroundView, outcome: str) -> AuditEvent:
        return AuditEvent(
            kind="ground",
            outcome=outcome,
            reason=view.ground,
            party=actor.party,
            employee=actor.employee,
            convenant=case.convenant,
            purpose=case.purpose,
            case=case.id,
            subject_pseudonym=view.subject_pseudonym,
            covenant_version=self._policy().covenant_version(case.convenant),
            processing_activity=processing_activity_uri(case.convenant, case.purpose),
            details=self._details(view),
        )

    @staticmethod
    def _details(view: GroundView) -> dict[str, str | None]:
        """Identifiers only: the document reference stays in the register, not in the log."""
        return {
            "ground_id": view.id,
            "ground": view.ground,
            "article": view.article,
            "subject": view.subject,
            "categories": ",".join(view.categories),
            "recipients": ",".join(view.recipients) if view.recipients is not None else None,
            "valid_until": view.valid_until.isoformat() if view.valid_until else None,
        }
