"""Mirror cases: the local case a peer gateway's forwarded queries are decided in.

Why a case: our broker decides, asks our OvJ and logs per case (participation,
phase, consent scope, retention all hang off it). A peer's query therefore
runs in a case whose only participant is the peer, for the same subject and
purpose. One mirror case per (covenant, purpose, peer, subject) is kept and
reused, so an OvJ consent given here keeps covering the peer's later queries
for that person. The phase is the one the peer states for its own case: we
decide under *our* rules for that phase, and log the phase we were told.

Mirror cases are not cases *of this region*: "known elsewhere?" ignores them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases.models import Case, CaseParticipant, CaseSubject, main_subject, new_case_id
from gateway.cases.service import Actor, CaseRecord, CaseService, SubjectSealer
from gateway.federation.rules import check_peer
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.models import PHASES
from gateway.problems import Unprocessable
from gateway.subjects.bsn import Bsn, Pseudonymizer

MirrorChange = Literal["opened", "phase_changed", "reused"]


@dataclass(frozen=True)
class MirrorCase:
    case: CaseRecord
    change: MirrorChange


class MirrorCases:
    def __init__(
        self,
        policy: Callable[[], CompiledPolicy],
        cases: CaseService,
        pseudonymizer: Pseudonymizer,
        sealer: SubjectSealer,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._policy = policy
        self._cases = cases
        self._pseudonymizer = pseudonymizer
        self._sealer = sealer
        self._today = today

    def open_or_sync(self, session: Session, actor: Actor, bsn: Bsn, phase: str) -> MirrorCase:
        """The peer's open mirror case for this subject, in ``phase``; created if missing."""
        check_peer(self._policy(), actor, self._today())
        if phase not in PHASES:
            raise Unprocessable(
                detail="Unknown phase.", extensions={"allowed_phases": list(PHASES)}
            )
        pseudonym = self._pseudonymizer.pseudonym(bsn)
        now = datetime.now(UTC)
        case = session.scalar(
            select(Case)
            .where(
                Case.convenant == actor.covenant,
                Case.purpose == actor.purpose,
                Case.subject_pseudonym == pseudonym,
                Case.opened_by == actor.party,
                Case.status == "open",
            )
            .order_by(Case.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        change: MirrorChange = "reused"
        if case is None:
            if session.get(CaseSubject, pseudonym) is None:
                sealed = self._sealer.seal_bsn(session, pseudonym, bsn)
                session.add(CaseSubject(pseudonym=pseudonym, sealed_bsn=sealed, created_at=now))
                session.flush()
            case = Case(
                id=new_case_id(),
                convenant=actor.covenant,
                purpose=actor.purpose,
                subject_pseudonym=pseudonym,
                phase=phase,
                status="open",
                opened_by=actor.party,
                created_at=now,
                updated_at=now,
                last_contact_at=now,
            )
            case.participants = [
                CaseParticipant(party=actor.party, added_by=actor.party, added_at=now)
            ]
            case.subjects = [main_subject(pseudonym, actor.party, now)]
            session.add(case)
            change = "opened"
        elif case.phase != phase:
            case.phase = phase
            case.updated_at = now
            change = "phase_changed"
        session.flush()
        return MirrorCase(self._cases.load_record(session, case.id), change)
