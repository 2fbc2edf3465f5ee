"""Opening, joining, moving and closing cases — the rules, without HTTP.

Only parties holding one of the covenant's ``case_opening_roles`` open a case,
add participants, change its phase or close it; only participants read it
(need-to-know: everyone in the case, nobody outside it). Every call is bound
to the token's covenant and purpose like a query (doelbinding): a case is
opened, read and changed only under its own covenant and purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.cases.household import (
    MAX_SUBJECTS,
    NewSubject,
    SubjectExists,
    SubjectRef,
    UnknownSubject,
    check_roles,
    order_household,
    ref_for,
)
from gateway.cases.models import (
    Case,
    CaseParticipant,
    CasePhaseChange,
    CaseSubject,
    CaseSubjectRef,
    new_case_id,
)
from gateway.cases.sealing import SubjectErased
from gateway.cases.workflow import (
    TRIAGE_PHASES,
    CaseAttributes,
    PhaseTransition,
    TriageDone,
    TriageOutcome,
    check_attributes,
    check_closure,
    check_free_text,
    check_initial,
    check_move,
    may_refer,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import CaseView as DecisionCase
from gateway.policy.models import CLOSED, MAIN_SUBJECT_ROLE, PHASES, REFERRAL_PHASE, Covenant
from gateway.problems import Conflict, Forbidden, NotFound, Unprocessable
from gateway.storage.connection_of import connection_of
from gateway.storage.precompiled import Precompiled
from gateway.subjects.bsn import Bsn, Pseudonymizer


class SubjectSealer(Protocol):
    """Encrypts a BSN under the subject's data key (the vault), so erasure shreds it."""

    def seal_bsn(self, session: Session, pseudonym: str, bsn: Bsn) -> str: ...

    def open_bsn(self, session: Session, pseudonym: str, sealed: str) -> Bsn: ...


@dataclass(frozen=True)
class Actor:
    """Who acts: the party from the access token, its employee, covenant and purpose."""

    party: str
    employee: str
    covenant: str
    purpose: str


@dataclass(frozen=True)
class Triage:
    outcome: str
    reason: str
    referred_to: str | None
    decided_by: str
    employee: str
    at: datetime


@dataclass(frozen=True)
class CaseRecord:
    """A case as read; ``subject_*`` is the person a query is about (default ``s1``)."""

    id: str
    convenant: str
    purpose: str
    phase: str
    status: str
    participants: tuple[str, ...]
    opened_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    subject_pseudonym: str
    last_contact_at: datetime | None = None
    subjects: tuple[SubjectRef, ...] = ()
    subject_ref: str = "s1"
    subject_role: str = MAIN_SUBJECT_ROLE
    referrer: str | None = None
    attributes: CaseAttributes = field(default_factory=CaseAttributes)
    triage: Triage | None = None
    closure_reason: str | None = None
    closure_note: str | None = None

    def decision_view(self) -> DecisionCase:
        return DecisionCase(
            convenant=self.convenant,
            purpose=self.purpose,
            phase=self.phase,  # type: ignore[arg-type]  # validated on write
            status="open" if self.status == "open" else "closed",
            participants=frozenset(self.participants),
            subject_role=self.subject_role,
        )

    def about(self, ref: str | None) -> CaseRecord:
        """The same case, about subject ``ref`` (None: the hoofdpersoon, ``s1``).

        Everything keyed by the person — the decision's role, the BSN asked for,
        verzet, corrections, the log entries and so the inzage — then follows it.
        """
        if ref is None or ref == self.subject_ref:
            return self
        subject = next((s for s in self.subjects if s.ref == ref), None)
        if subject is None:
            raise UnknownSubject(extensions={"reason": "unknown_subject"})
        if subject.pseudonym is None:
            raise SubjectErased()
        return replace(
            self, subject_pseudonym=subject.pseudonym, subject_ref=ref, subject_role=subject.role
        )

    def living_subjects(self) -> tuple[SubjectRef, ...]:
        """The subjects not erased: one log entry per action per person."""
        return tuple(s for s in self.subjects if s.pseudonym is not None)


def _triage(row: Any) -> Triage | None:
    """The triage of a case row: an ORM ``Case`` or the query path's Core row (same names)."""
    if row.triage_outcome is None:
        return None
    return Triage(
        outcome=row.triage_outcome,
        reason=row.triage_reason or "",
        referred_to=row.triage_referred_to,
        decided_by=row.triage_decided_by or "",
        employee=row.triage_employee or "",
        at=row.triage_at if row.triage_at is not None else row.updated_at,
    )


def _record(case: Case) -> CaseRecord:
    triage = _triage(case)
    subjects = tuple(
        SubjectRef(s.ref, s.role, s.birth_year, s.pseudonym)
        for s in sorted(case.subjects, key=lambda s: s.position)
    )
    return CaseRecord(
        id=case.id,
        convenant=case.convenant,
        purpose=case.purpose,
        phase=case.phase,
        status=case.status,
        participants=tuple(sorted(p.party for p in case.participants)),
        opened_by=case.opened_by,
        created_at=case.created_at,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
        subject_pseudonym=case.subject_pseudonym,
        last_contact_at=case.last_contact_at,
        subjects=subjects,
        referrer=case.referrer,
        attributes=CaseAttributes(case.case_type, case.municipality, case.region),
        triage=triage,
        closure_reason=case.closure_reason,
        closure_note=case.closure_note,
    )


_CASES = Case.__table__
_PARTICIPANTS = CaseParticipant.__table__
_REFS = CaseSubjectRef.__table__
_SEALED = CaseSubject.__table__.alias("sealed")
_MAIN_SEALED = CaseSubject.__table__.alias("main_sealed")
# The query path's case load: one Core statement, built once (SQLAlchemy caches its
# compiled form), no ORM identity map. One row per (participant, subject ref), each
# subject's sealed BSN alongside (and the case's own subject's, should it have no ref),
# so whichever person the query is about needs no second read.
_CASE_FOR_QUERY = Precompiled(
    select(
        *_CASES.c,
        _PARTICIPANTS.c.party,
        _REFS.c.ref.label("subject_ref"),
        _REFS.c.position.label("subject_position"),
        _REFS.c.role.label("subject_role"),
        _REFS.c.birth_year.label("subject_birth_year"),
        _REFS.c.pseudonym.label("subject_ref_pseudonym"),
        _SEALED.c.sealed_bsn.label("subject_sealed_bsn"),
        _MAIN_SEALED.c.sealed_bsn.label("main_sealed_bsn"),
    )
    .select_from(
        _CASES.outerjoin(_PARTICIPANTS, _PARTICIPANTS.c.case_id == _CASES.c.id)
        .outerjoin(_REFS, _REFS.c.case_id == _CASES.c.id)
        .outerjoin(_SEALED, _SEALED.c.pseudonym == _REFS.c.pseudonym)
        .outerjoin(_MAIN_SEALED, _MAIN_SEALED.c.pseudonym == _CASES.c.subject_pseudonym)
    )
    .where(_CASES.c.id == bindparam("case_id"))
)


@dataclass(frozen=True)
class QueryCase:
    """A case as a query needs it: the record (about the person asked for), and that
    person's sealed BSN (None: erased)."""

    record: CaseRecord
    sealed_bsn: str | None


def _query_record(rows: Sequence[Any]) -> tuple[CaseRecord, dict[str, str]]:
    """The :func:`_record` of the joined rows, and the sealed BSN per living pseudonym."""
    first = rows[0]
    refs: dict[str, tuple[int, SubjectRef]] = {}
    sealed: dict[str, str] = {}
    if first.main_sealed_bsn is not None:
        sealed[first.subject_pseudonym] = first.main_sealed_bsn
    for row in rows:
        if row.subject_ref is not None and row.subject_ref not in refs:
            refs[row.subject_ref] = (
                row.subject_position,
                SubjectRef(
                    row.subject_ref,
                    row.subject_role,
                    row.subject_birth_year,
                    row.subject_ref_pseudonym,
                ),
            )
        if row.subject_ref_pseudonym is not None and row.subject_sealed_bsn is not None:
            sealed[row.subject_ref_pseudonym] = row.subject_sealed_bsn
    triage = _triage(first)
    record = CaseRecord(
        id=first.id,
        convenant=first.convenant,
        purpose=first.purpose,
        phase=first.phase,
        status=first.status,
        participants=tuple(sorted({r.party for r in rows if r.party is not None})),
        opened_by=first.opened_by,
        created_at=first.created_at,
        updated_at=first.updated_at,
        closed_at=first.closed_at,
        subject_pseudonym=first.subject_pseudonym,
        last_contact_at=first.last_contact_at,
        subjects=tuple(ref for _, ref in sorted(refs.values(), key=lambda pair: pair[0])),
        referrer=first.referrer,
        attributes=CaseAttributes(first.case_type, first.municipality, first.region),
        triage=triage,
        closure_reason=first.closure_reason,
        closure_note=first.closure_note,
    )
    return record, sealed


class NotParticipant(Forbidden):
    slug = "not-participant"
    title = "Only participants of the case may do this"


class NotCaseOpener(Forbidden):
    slug = "not-case-opener"
    title = "Only parties with the covenant's case-opening role may do this"


class NotBoundToCase(Forbidden):
    """The token's covenant or purpose is not the case's (doelbinding, as for queries)."""

    slug = "case-binding"
    title = "The token's covenant and purpose must be the case's"


def check_binding(actor: Actor, convenant: str, purpose: str) -> None:
    """A case is only handled under its own covenant and purpose, taken from the token.

    Raises :class:`NotBoundToCase` with reason ``convenant_mismatch`` or
    ``purpose_mismatch``; so the log can only ever record the token's purpose.
    """
    if actor.covenant != convenant:
        raise NotBoundToCase(
            detail="The token's covenant is not the case's covenant.",
            extensions={"reason": "convenant_mismatch"},
        )
    if actor.purpose != purpose:
        raise NotBoundToCase(
            detail="The token's purpose is not the case's purpose.",
            extensions={"reason": "purpose_mismatch"},
        )


class CaseClosed(Conflict):
    slug = "case-closed"
    title = "The case is closed"


TOUCH_GRANULARITY = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReferralView:
    """What a referrer who is not a participant sees of its referral: status and triage."""

    id: str
    status: str
    referrer: str
    triage_outcome: str | None


@dataclass(frozen=True)
class Opening:
    """What ``POST /v1/cases`` asks for, after HTTP validation."""

    convenant: str
    purpose: str
    subjects: Sequence[NewSubject]
    participants: Sequence[str]
    phase: str | None  # None: signalering, or the covenant's first initial phase
    attributes: CaseAttributes = field(default_factory=CaseAttributes)


@dataclass(frozen=True)
class Move:
    """A phase change, who made it (from the actor) and why."""

    from_phase: str | None
    to_phase: str
    reason: str | None


class CaseService:
    def __init__(
        self,
        policy: Callable[[], CompiledPolicy],
        pseudonymizer: Pseudonymizer,
        sealer: SubjectSealer,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._policy = policy
        self._pseudonymizer = pseudonymizer
        self._sealer = sealer
        self._today = today

    def _active_covenant(self, actor: Actor, convenant: str) -> tuple[CompiledPolicy, Covenant]:
        policy = self._policy()
        if actor.covenant != convenant:
            raise NotBoundToCase(
                detail="The token's covenant is not the case's covenant.",
                extensions={"reason": "convenant_mismatch"},
            )
        covenant = policy.covenant(convenant)
        if covenant is None or not policy.is_active(convenant, self._today()):
            raise Forbidden(
                detail="The covenant is not active.", extensions={"reason": "convenant_inactive"}
            )
        return policy, covenant

    def _require_opener(self, actor: Actor, convenant: str) -> Covenant:
        policy, covenant = self._active_covenant(actor, convenant)
        if not policy.can_open_case(convenant, actor.party):
            raise NotCaseOpener(extensions={"reason": "not_case_opener"})
        return covenant

    def open(self, session: Session, actor: Actor, opening: Opening) -> CaseRecord:
        """A case by a case-opening party, or a referral (phase aanmelding) by a referrer.

        A referral's participants are the covenant's case-opening parties only:
        until triage nobody else sees it, the referrer included (it sees its
        status through :meth:`get`).
        """
        check_binding(actor, opening.convenant, opening.purpose)
        policy, covenant = self._active_covenant(actor, opening.convenant)
        party = covenant.party(actor.party)
        opener = policy.can_open_case(opening.convenant, actor.party)
        if party is None or not (opener or may_refer(covenant, party)):
            raise NotCaseOpener(extensions={"reason": "not_case_opener"})
        if covenant.purpose(opening.purpose) is None:
            raise Unprocessable(detail="Unknown purpose for this covenant.")
        phase = opening.phase or _default_phase(covenant, opener=opener)
        check_initial(covenant, phase, opener=opener)
        check_attributes(covenant, opening.attributes)
        check_roles(covenant, opening.subjects)
        subjects = order_household(opening.subjects)
        referral = phase == REFERRAL_PHASE
        if referral:
            if opening.participants and not opener:
                raise Unprocessable(detail="A referral names no participants.")
            openers = [p.id for p in covenant.parties if policy.can_open_case(covenant.id, p.id)]
            members = set(openers) | ({actor.party, *opening.participants} if opener else set())
        else:
            members = {actor.party, *opening.participants}
        unknown = sorted(p for p in members if covenant.party(p) is None)
        if unknown:
            raise Unprocessable(
                detail="Participants must be parties of the covenant.",
                extensions={"unknown_parties": unknown},
            )
        now = _now()
        pseudonyms = [self._person(session, subject.bsn, now) for subject in subjects]
        case = Case(
            id=new_case_id(),
            convenant=opening.convenant,
            purpose=opening.purpose,
            subject_pseudonym=pseudonyms[0],
            phase=phase,
            status="open",
            opened_by=actor.party,
            created_at=now,
            updated_at=now,
            last_contact_at=now,
            referrer=actor.party if referral else None,
            case_type=opening.attributes.case_type,
            municipality=opening.attributes.municipality,
            region=opening.attributes.region,
        )
        case.participants = [
            CaseParticipant(party=p, added_by=actor.party, added_at=now) for p in sorted(members)
        ]
        case.subjects = [
            CaseSubjectRef(
                ref=ref_for(position),
                position=position,
                role=subject.role,
                pseudonym=pseudonym,
                birth_year=subject.birth_year,
                added_by=actor.party,
                added_at=now,
            )
            for position, (subject, pseudonym) in enumerate(
                zip(subjects, pseudonyms, strict=True), start=1
            )
        ]
        session.add(case)
        session.flush()
        self._log_move(session, actor, case, Move(None, phase, None), now)
        return _record(case)

    def _person(self, session: Session, bsn: Bsn, now: datetime) -> str:
        """The person's pseudonym; their sealed BSN stored once, shared by their cases."""
        pseudonym = self._pseudonymizer.pseudonym(bsn)
        if session.get(CaseSubject, pseudonym) is None:
            sealed = self._sealer.seal_bsn(session, pseudonym, bsn)
            session.add(CaseSubject(pseudonym=pseudonym, sealed_bsn=sealed, created_at=now))
            session.flush()
        return pseudonym

    def _load(self, session: Session, case_id: str, *, for_update: bool = False) -> Case:
        query = select(Case).where(Case.id == case_id)
        if for_update:
            query = query.with_for_update()
        case = session.scalar(query)
        if case is None:
            raise NotFound(detail="No such case.")
        return case

    def load_record(self, session: Session, case_id: str) -> CaseRecord:
        """The case whoever asks; callers decide (the policy checks participation)."""
        return _record(self._load(session, case_id))

    def load_for_query(
        self, session: Session, case_id: str, subject: str | None = None
    ) -> QueryCase:
        """``load_record(...).about(subject)`` plus that person's sealed BSN, in one
        statement (the query hot path)."""
        rows = _CASE_FOR_QUERY.all(connection_of(session), {"case_id": case_id})
        if not rows:
            raise NotFound(detail="No such case.")
        record, sealed = _query_record(rows)
        about = record.about(subject)
        return QueryCase(about, sealed.get(about.subject_pseudonym))

    def open_subject(self, session: Session, loaded: QueryCase) -> Bsn:
        """The BSN of a case loaded by :meth:`load_for_query` (no second read of the subject)."""
        if loaded.sealed_bsn is None:
            raise NotFound(detail="The case's subject has been erased.")
        pseudonym = loaded.record.subject_pseudonym
        return self._sealer.open_bsn(session, pseudonym, loaded.sealed_bsn)

    def get(self, session: Session, actor: Actor, case_id: str) -> CaseRecord:
        case = self._load(session, case_id)
        check_binding(actor, case.convenant, case.purpose)
        if actor.party not in {p.party for p in case.participants}:
            raise NotParticipant(extensions={"reason": "not_participant"})
        return _record(case)

    def get_or_referral(
        self, session: Session, actor: Actor, case_id: str
    ) -> CaseRecord | ReferralView:
        """The case for a participant; for its referrer (not participant) only the status."""
        case = self._load(session, case_id)
        check_binding(actor, case.convenant, case.purpose)
        if actor.party not in {p.party for p in case.participants}:
            if case.referrer is not None and case.referrer == actor.party:
                return ReferralView(case.id, case.status, case.referrer, case.triage_outcome)
            raise NotParticipant(extensions={"reason": "not_participant"})
        return _record(case)

    def _load_for_change(self, session: Session, actor: Actor, case_id: str) -> Case:
        case = self._load(session, case_id, for_update=True)
        check_binding(actor, case.convenant, case.purpose)
        if actor.party not in {p.party for p in case.participants}:
            raise NotParticipant(extensions={"reason": "not_participant"})
        self._require_opener(actor, case.convenant)
        if case.status != "open":
            raise CaseClosed()
        return case

    def _covenant_of(self, case: Case) -> Covenant:
        covenant = self._policy().covenant(case.convenant)
        if covenant is None:  # _require_opener has seen it active
            raise NotFound(detail="No such covenant.")
        return covenant

    def add_participant(
        self, session: Session, actor: Actor, case_id: str, party: str
    ) -> CaseRecord:
        case = self._load_for_change(session, actor, case_id)
        covenant = self._policy().covenant(case.convenant)
        if covenant is None or covenant.party(party) is None:
            raise Unprocessable(detail="The party is not a party of the case's covenant.")
        if party not in {p.party for p in case.participants}:
            now = _now()
            case.participants.append(
                CaseParticipant(party=party, added_by=actor.party, added_at=now)
            )
            case.updated_at = now
        session.flush()
        return _record(case)

    def add_subject(
        self, session: Session, actor: Actor, case_id: str, subject: NewSubject
    ) -> tuple[CaseRecord, str]:
        """One more person in the case; returns the case and the new subject's ref."""
        case = self._load_for_change(session, actor, case_id)
        covenant = self._covenant_of(case)
        check_roles(covenant, [subject])
        if subject.role == MAIN_SUBJECT_ROLE:
            raise SubjectExists(
                detail="The case already has its hoofdpersoon.",
                extensions={"reason": "one_hoofdpersoon"},
            )
        if len(case.subjects) >= MAX_SUBJECTS:
            raise Unprocessable(detail=f"A case names at most {MAX_SUBJECTS} subjects.")
        pseudonym = self._pseudonymizer.pseudonym(subject.bsn)
        if any(s.pseudonym == pseudonym for s in case.subjects):
            raise SubjectExists()
        now = _now()
        self._person(session, subject.bsn, now)
        position = max((s.position for s in case.subjects), default=0) + 1
        ref = ref_for(position)
        case.subjects.append(
            CaseSubjectRef(
                ref=ref,
                position=position,
                role=subject.role,
                pseudonym=pseudonym,
                birth_year=subject.birth_year,
                added_by=actor.party,
                added_at=now,
            )
        )
        case.updated_at = now
        session.flush()
        return _record(case), ref

    def change(
        self,
        session: Session,
        actor: Actor,
        case_id: str,
        *,
        phase: str | None,
        reason: str | None,
        attributes: CaseAttributes,
    ) -> tuple[CaseRecord, Move | None]:
        """Move the phase (only as the covenant declares) and/or set the case attributes.

        Returns the move made (None when the phase stayed): the log names it.
        """
        check_free_text("reason", reason)
        if phase is not None:
            _check_phase(phase)
        case = self._load_for_change(session, actor, case_id)
        covenant = self._covenant_of(case)
        check_attributes(covenant, attributes)
        now = _now()
        move = None
        if phase is not None and (phase != case.phase or covenant.phases is None):
            check_move(covenant, case.phase, phase)
            move = Move(case.phase, phase, reason)
            case.phase = phase
            self._log_move(session, actor, case, move, now)
        if attributes.case_type is not None:
            case.case_type = attributes.case_type
        if attributes.municipality is not None:
            case.municipality = attributes.municipality
        if attributes.region is not None:
            case.region = attributes.region
        case.updated_at = now
        session.flush()
        return _record(case), move

    def set_phase(self, session: Session, actor: Actor, case_id: str, phase: str) -> CaseRecord:
        """Move the phase without a reason (the call from before :meth:`change`)."""
        case, _ = self.change(
            session, actor, case_id, phase=phase, reason=None, attributes=CaseAttributes()
        )
        return case

    def triage(
        self,
        session: Session,
        actor: Actor,
        case_id: str,
        *,
        outcome: TriageOutcome,
        reason: str,
        referred_to: str | None,
    ) -> tuple[CaseRecord, Move | None]:
        """Record the triage decision and who took it; take the case on or end it.

        ``opgepakt`` moves a referral on to ``triage`` (the team then moves it on
        as the covenant allows); ``niet_opgepakt`` and ``doorverwezen`` close the
        case with the outcome as its closure reason. Decided once.
        """
        check_free_text("reason", reason)
        check_free_text("referred_to", referred_to)
        case = self._load_for_change(session, actor, case_id)
        covenant = self._covenant_of(case)
        if case.triage_outcome is not None:
            raise TriageDone()
        if case.phase not in TRIAGE_PHASES:
            raise PhaseTransition(
                detail="Triage is decided in phase aanmelding or triage.",
                extensions={"from": case.phase, "to": "triage", "allowed": []},
            )
        if outcome == "doorverwezen" and not referred_to:
            raise Unprocessable(detail="doorverwezen names where to: referred_to.")
        now = _now()
        case.triage_outcome = outcome
        case.triage_reason = reason
        case.triage_referred_to = referred_to
        case.triage_decided_by = actor.party
        case.triage_employee = actor.employee
        case.triage_at = now
        case.updated_at = now
        move = None
        if outcome == "opgepakt":
            if case.phase == REFERRAL_PHASE:
                check_move(covenant, case.phase, "triage")
                move = Move(case.phase, "triage", reason)
                case.phase = "triage"
        else:
            move = Move(case.phase, CLOSED, reason)
            case.status = "closed"
            case.closed_at = now
            case.closure_reason = outcome
        if move is not None:
            self._log_move(session, actor, case, move, now)
        session.flush()
        return _record(case), move

    def close(
        self,
        session: Session,
        actor: Actor,
        case_id: str,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> CaseRecord:
        """Close with a reason from ``closure_reasons`` (required when the covenant lists them)."""
        check_free_text("note", note)
        case = self._load_for_change(session, actor, case_id)
        check_closure(self._covenant_of(case), case.phase, reason)
        now = _now()
        case.status = "closed"
        case.closed_at = now
        case.updated_at = now
        case.closure_reason = reason
        case.closure_note = note
        self._log_move(session, actor, case, Move(case.phase, CLOSED, reason), now)
        session.flush()
        return _record(case)

    @staticmethod
    def _log_move(session: Session, actor: Actor, case: Case, move: Move, now: datetime) -> None:
        session.add(
            CasePhaseChange(
                case_id=case.id,
                from_phase=move.from_phase,
                to_phase=move.to_phase,
                party=actor.party,
                employee=actor.employee,
                reason=move.reason,
                at=now,
            )
        )

    def touch(self, session: Session, record: CaseRecord) -> None:
        """Record contact with the case (a query): the 5-year limit counts from here.

        At most once per ``TOUCH_GRANULARITY``: a limit counted in years loses nothing,
        and a query then needs no write (and no fsync) of its own besides the audit log.
        The record just loaded says whether it is due, so most queries read nothing more.
        """
        if not self.touch_due(record):
            return
        now = _now()
        case = session.get(Case, record.id)
        if case is not None and now - case.last_contact_at >= TOUCH_GRANULARITY:
            case.last_contact_at = now

    def touch_due(self, record: CaseRecord) -> bool:
        """Whether :meth:`touch` would read and write (no statement to tell)."""
        last = record.last_contact_at
        return last is None or _now() - last >= TOUCH_GRANULARITY

    def subject_bsn(self, session: Session, case: CaseRecord) -> Bsn:
        """The BSN of the person ``case`` is about (see :meth:`CaseRecord.about`)."""
        subject = session.get(CaseSubject, case.subject_pseudonym)
        if subject is None:
            raise NotFound(detail="The case's subject has been erased.")
        return self._sealer.open_bsn(session, case.subject_pseudonym, subject.sealed_bsn)


def _default_phase(covenant: Covenant, *, opener: bool) -> str:
    """Without a ``phase``: a referrer refers; an opener starts in ``signalering`` as before
    the workflow blocks, or where the covenant starts if it cannot start there."""
    if not opener:
        return REFERRAL_PHASE
    initial = covenant.initial_phases()
    return "signalering" if "signalering" in initial else initial[0]


def _check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise Unprocessable(detail="Unknown phase.", extensions={"allowed_phases": list(PHASES)})
