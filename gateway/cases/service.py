"""Opening, joining, moving and closing cases — the rules, without HTTP.

Only parties holding one of the covenant's ``case_opening_roles`` open a case,
add participants, change its phase or close it; only participants read it
(need-to-know: everyone in the case, nobody outside it). Every call is bound
to the token's covenant and purpose like a query (doelbinding): a case is
opened, read and changed only under its own covenant and purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.cases.models import Case, CaseParticipant, CaseSubject, new_case_id
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import CaseView as DecisionCase
from gateway.policy.models import PHASES
from gateway.problems import Conflict, Forbidden, NotFound, Unprocessable
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
class CaseRecord:
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

    def decision_view(self) -> DecisionCase:
        return DecisionCase(
            convenant=self.convenant,
            purpose=self.purpose,
            phase=self.phase,  # type: ignore[arg-type]  # validated on write
            status="open" if self.status == "open" else "closed",
            participants=frozenset(self.participants),
        )


def _record(case: Case) -> CaseRecord:
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
        last_contact_at=_aware(case.last_contact_at),
    )


_CASES = Case.__table__
_PARTICIPANTS = CaseParticipant.__table__
_SUBJECTS = CaseSubject.__table__
# The query path's case load: one Core statement, built once (SQLAlchemy caches its
# compiled form), no ORM identity map; one row per participant, the sealed BSN alongside.
_CASE_FOR_QUERY = (
    select(
        _CASES.c.id,
        _CASES.c.convenant,
        _CASES.c.purpose,
        _CASES.c.phase,
        _CASES.c.status,
        _CASES.c.opened_by,
        _CASES.c.created_at,
        _CASES.c.updated_at,
        _CASES.c.closed_at,
        _CASES.c.subject_pseudonym,
        _CASES.c.last_contact_at,
        _PARTICIPANTS.c.party,
        _SUBJECTS.c.sealed_bsn,
    )
    .select_from(
        _CASES.outerjoin(_PARTICIPANTS, _PARTICIPANTS.c.case_id == _CASES.c.id).outerjoin(
            _SUBJECTS, _SUBJECTS.c.pseudonym == _CASES.c.subject_pseudonym
        )
    )
    .where(_CASES.c.id == bindparam("case_id"))
)


@dataclass(frozen=True)
class QueryCase:
    """A case as a query needs it: the record, and its subject's sealed BSN (None: erased)."""

    record: CaseRecord
    sealed_bsn: str | None


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive UTC; PostgreSQL an aware time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


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

    def _require_opener(self, actor: Actor, convenant: str) -> CompiledPolicy:
        policy = self._policy()
        if actor.covenant != convenant:
            raise NotBoundToCase(
                detail="The token's covenant is not the case's covenant.",
                extensions={"reason": "convenant_mismatch"},
            )
        if not policy.is_active(convenant, self._today()):
            raise Forbidden(
                detail="The covenant is not active.", extensions={"reason": "convenant_inactive"}
            )
        if not policy.can_open_case(convenant, actor.party):
            raise NotCaseOpener(extensions={"reason": "not_case_opener"})
        return policy

    def open(
        self,
        session: Session,
        actor: Actor,
        *,
        convenant: str,
        purpose: str,
        bsn: Bsn,
        participants: Sequence[str],
        phase: str,
    ) -> CaseRecord:
        check_binding(actor, convenant, purpose)
        policy = self._require_opener(actor, convenant)
        covenant = policy.covenant(convenant)
        assert covenant is not None  # active implies known
        if covenant.purpose(purpose) is None:
            raise Unprocessable(detail="Unknown purpose for this covenant.")
        _check_phase(phase)
        members = {actor.party, *participants}
        unknown = sorted(p for p in members if covenant.party(p) is None)
        if unknown:
            raise Unprocessable(
                detail="Participants must be parties of the covenant.",
                extensions={"unknown_parties": unknown},
            )
        pseudonym = self._pseudonymizer.pseudonym(bsn)
        now = _now()
        if session.get(CaseSubject, pseudonym) is None:
            sealed = self._sealer.seal_bsn(session, pseudonym, bsn)
            session.add(CaseSubject(pseudonym=pseudonym, sealed_bsn=sealed, created_at=now))
            session.flush()
        case = Case(
            id=new_case_id(),
            convenant=convenant,
            purpose=purpose,
            subject_pseudonym=pseudonym,
            phase=phase,
            status="open",
            opened_by=actor.party,
            created_at=now,
            updated_at=now,
            last_contact_at=now,
        )
        case.participants = [
            CaseParticipant(party=p, added_by=actor.party, added_at=now) for p in sorted(members)
        ]
        session.add(case)
        session.flush()
        return _record(case)

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

    def load_for_query(self, session: Session, case_id: str) -> QueryCase:
        """:meth:`load_record` plus the sealed BSN, in one statement (the query hot path)."""
        rows = session.connection().execute(_CASE_FOR_QUERY, {"case_id": case_id}).all()
        if not rows:
            raise NotFound(detail="No such case.")
        first = rows[0]
        record = CaseRecord(
            id=first.id,
            convenant=first.convenant,
            purpose=first.purpose,
            phase=first.phase,
            status=first.status,
            participants=tuple(sorted(r.party for r in rows if r.party is not None)),
            opened_by=first.opened_by,
            created_at=first.created_at,
            updated_at=first.updated_at,
            closed_at=first.closed_at,
            subject_pseudonym=first.subject_pseudonym,
            last_contact_at=_aware(first.last_contact_at),
        )
        return QueryCase(record, first.sealed_bsn)

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

    def _load_for_change(self, session: Session, actor: Actor, case_id: str) -> Case:
        case = self._load(session, case_id, for_update=True)
        check_binding(actor, case.convenant, case.purpose)
        if actor.party not in {p.party for p in case.participants}:
            raise NotParticipant(extensions={"reason": "not_participant"})
        self._require_opener(actor, case.convenant)
        if case.status != "open":
            raise CaseClosed()
        return case

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

    def set_phase(self, session: Session, actor: Actor, case_id: str, phase: str) -> CaseRecord:
        _check_phase(phase)
        case = self._load_for_change(session, actor, case_id)
        case.phase = phase
        case.updated_at = _now()
        session.flush()
        return _record(case)

    def close(self, session: Session, actor: Actor, case_id: str) -> CaseRecord:
        case = self._load_for_change(session, actor, case_id)
        now = _now()
        case.status = "closed"
        case.closed_at = now
        case.updated_at = now
        session.flush()
        return _record(case)

    def touch(self, session: Session, record: CaseRecord) -> None:
        """Record contact with the case (a query): the 5-year limit counts from here.

        At most once per ``TOUCH_GRANULARITY``: a limit counted in years loses nothing,
        and a query then needs no write (and no fsync) of its own besides the audit log.
        The record just loaded says whether it is due, so most queries read nothing more.
        """
        now = _now()
        if record.last_contact_at is not None and now - record.last_contact_at < TOUCH_GRANULARITY:
            return
        case = session.get(Case, record.id)
        if case is not None and now - _aware(case.last_contact_at) >= TOUCH_GRANULARITY:
            case.last_contact_at = now

    def subject_bsn(self, session: Session, case: CaseRecord) -> Bsn:
        subject = session.get(CaseSubject, case.subject_pseudonym)
        if subject is None:
            raise NotFound(detail="The case's subject has been erased.")
        return self._sealer.open_bsn(session, case.subject_pseudonym, subject.sealed_bsn)


def _check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise Unprocessable(detail="Unknown phase.", extensions={"allowed_phases": list(PHASES)})
