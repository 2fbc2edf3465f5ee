"""The case desk: every change to a case with its audit entries, in one transaction.

The partner API comes through here (``gateway/api/cases.py`` only translates
HTTP): the case change and its log entries commit together or not at all, so
no referral, triage decision, phase move, new subject or closure exists
without its entry, nor an entry without its change. A refused call (403/404)
leaves its own denial entry through the ``refusals`` hook, written in its own
transaction because the refused one is rolled back.

One entry per action per person (API.md §5): an action on a household case is
logged once for each subject not erased, under that subject's pseudonym and
named in the entry only by ``subject_ref`` and ``subject_role``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, DetailValue
from gateway.cases.household import NewSubject, SubjectRef
from gateway.cases.service import (
    Actor,
    CaseRecord,
    CaseService,
    Move,
    Opening,
    ReferralView,
)
from gateway.cases.workflow import CaseAttributes, TriageOutcome
from gateway.policy.compiled import CompiledPolicy
from gateway.storage.db import Database


class AuditAppender(Protocol):
    def append_in(self, session: Session, events: Sequence[AuditEvent]) -> list[int]: ...


# (actor, action, case id) -> a context that logs a refusal raised inside it.
RefusalLogger = Callable[[Actor, str, str | None], AbstractContextManager[None]]


class CaseDesk:
    def __init__(
        self,
        db: Database,
        cases: CaseService,
        audit: AuditAppender,
        policy: Callable[[], CompiledPolicy],
        refusals: RefusalLogger,
    ) -> None:
        self._db = db
        self._cases = cases
        self._audit = audit
        self._policy = policy
        self._refusals = refusals

    def open(self, actor: Actor, opening: Opening) -> CaseRecord | ReferralView:
        """The case; to a referrer outside it only what it may see of its referral."""
        with self._refusals(actor, "open", None), self._db.session() as session:
            case = self._cases.open(session, actor, opening)
            outcome = "referred" if case.referrer is not None else "opened"
            details: dict[str, DetailValue] = {"participants": len(case.participants)}
            if case.referrer is not None:
                details["referrer"] = case.referrer
            self._log(session, actor, case, outcome, case.living_subjects(), details)
        if actor.party not in case.participants and case.referrer == actor.party:
            return ReferralView(case.id, case.status, case.referrer, None)
        return case

    def get(self, actor: Actor, case_id: str) -> CaseRecord | ReferralView:
        with self._refusals(actor, "get", case_id), self._db.session() as session:
            return self._cases.get_or_referral(session, actor, case_id)

    def add_participant(self, actor: Actor, case_id: str, party: str) -> CaseRecord:
        with self._refusals(actor, "add_participant", case_id), self._db.session() as session:
            case = self._cases.add_participant(session, actor, case_id, party)
            self._log(
                session,
                actor,
                case,
                "participant_added",
                case.living_subjects(),
                {"participant": party},
            )
        return case

    def add_subject(
        self, actor: Actor, case_id: str, subject: NewSubject
    ) -> tuple[CaseRecord, str]:
        with self._refusals(actor, "add_subject", case_id), self._db.session() as session:
            case, ref = self._cases.add_subject(session, actor, case_id, subject)
            added = tuple(s for s in case.subjects if s.ref == ref)
            self._log(session, actor, case, "subject_added", added, {})
        return case, ref

    def change(
        self,
        actor: Actor,
        case_id: str,
        *,
        phase: str | None,
        reason: str | None,
        attributes: CaseAttributes,
    ) -> CaseRecord:
        with self._refusals(actor, "set_phase", case_id), self._db.session() as session:
            case, move = self._cases.change(
                session, actor, case_id, phase=phase, reason=reason, attributes=attributes
            )
            details = _move_details(move)
            details.update(_attribute_details(attributes))
            outcome = "phase_changed" if move is not None else "attributes_changed"
            self._log(session, actor, case, outcome, case.living_subjects(), details)
        return case

    def triage(
        self,
        actor: Actor,
        case_id: str,
        *,
        outcome: TriageOutcome,
        reason: str,
        referred_to: str | None,
    ) -> CaseRecord:
        with self._refusals(actor, "triage", case_id), self._db.session() as session:
            case, move = self._cases.triage(
                session, actor, case_id, outcome=outcome, reason=reason, referred_to=referred_to
            )
            details = _move_details(move)
            details.update({"triage_outcome": outcome, "reason": reason})
            if referred_to is not None:
                details["referred_to"] = referred_to
            self._log(session, actor, case, "triaged", case.living_subjects(), details)
        return case

    def close(
        self, actor: Actor, case_id: str, *, reason: str | None, note: str | None
    ) -> CaseRecord:
        with self._refusals(actor, "close", case_id), self._db.session() as session:
            case = self._cases.close(session, actor, case_id, reason=reason, note=note)
            details: dict[str, DetailValue] = {"closure_reason": reason}
            if note is not None:
                details["note"] = note
            self._log(session, actor, case, "closed", case.living_subjects(), details)
        return case

    def _log(
        self,
        session: Session,
        actor: Actor,
        case: CaseRecord,
        outcome: str,
        subjects: Sequence[SubjectRef],
        details: dict[str, DetailValue],
    ) -> None:
        """The token's covenant and purpose: the case service has checked they are the case's."""
        version = self._policy().covenant_version(actor.covenant)
        events = [
            AuditEvent(
                kind="case",
                outcome=outcome,
                party=actor.party,
                employee=actor.employee,
                convenant=actor.covenant,
                purpose=actor.purpose,
                case=case.id,
                subject_pseudonym=subject.pseudonym,
                covenant_version=version,
                details={
                    "phase": case.phase,
                    "subject_ref": subject.ref,
                    "subject_role": subject.role,
                    **details,
                },
            )
            for subject in subjects
        ]
        if not events:  # every subject erased: the action is still logged, about no one
            events = [
                AuditEvent(
                    kind="case",
                    outcome=outcome,
                    party=actor.party,
                    employee=actor.employee,
                    convenant=actor.covenant,
                    purpose=actor.purpose,
                    case=case.id,
                    covenant_version=version,
                    details={"phase": case.phase, **details},
                )
            ]
        self._audit.append_in(session, events)


def _move_details(move: Move | None) -> dict[str, DetailValue]:
    if move is None:
        return {}
    details: dict[str, DetailValue] = {"from_phase": move.from_phase, "to_phase": move.to_phase}
    if move.reason is not None:
        details["reason"] = move.reason
    return details


def _attribute_details(attributes: CaseAttributes) -> dict[str, DetailValue]:
    return {
        name: value
        for name, value in (
            ("case_type", attributes.case_type),
            ("municipality", attributes.municipality),
            ("region", attributes.region),
        )
        if value is not None
    }
