"""Recording, listing and withdrawing legal grounds; and which are in force for a query.

Only a participant of the case records or withdraws a ground (a partner
outside the case cannot forge one), under the case's own covenant and
purpose. The person withdraws their own consent (``toestemming_betrokkene``)
through /mijn. A withdrawn or expired ground covers nothing from the next
query on: the broker asks :meth:`GroundService.in_force` on every query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases.service import Actor, CaseRecord, CaseService
from gateway.grounds.models import CaseGround, new_ground_id
from gateway.grounds.subjects import subject_pseudonym
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import RecordedGround
from gateway.policy.grounds import GROUND_KINDS, PERSONS_CONSENT, STATUTORY
from gateway.problems import Conflict, NotFound, Unprocessable

PERSON = "betrokkene"  # who withdrew, when the person did it through /mijn


class BadGround(Unprocessable):
    slug = "ground-invalid"
    title = "The ground names unknown categories or recipients, or an invalid date"


class AlreadyWithdrawn(Conflict):
    slug = "ground-withdrawn"
    title = "The ground was already withdrawn"


NO_SUCH_GROUND = "No such ground for this case."


@dataclass(frozen=True)
class GroundView:
    id: str
    case: str
    subject: str
    ground: str
    article: str | None
    reference: str
    categories: tuple[str, ...]
    recipients: tuple[str, ...] | None
    valid_until: date | None
    recorded_by_party: str
    recorded_by_employee: str
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None
    subject_pseudonym: str

    def status(self, today: date) -> str:
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.valid_until is not None and self.valid_until < today:
            return "expired"
        return "active"


def view_of(row: CaseGround) -> GroundView:
    recipients = row.recipients
    return GroundView(
        id=row.id,
        case=row.case_id,
        subject=row.subject_ref,
        ground=row.ground,
        article=row.article,
        reference=row.reference,
        categories=tuple(row.categories),
        recipients=tuple(recipients) if recipients is not None else None,
        valid_until=row.valid_until,
        recorded_by_party=row.recorded_by_party,
        recorded_by_employee=row.recorded_by_employee,
        recorded_at=row.recorded_at,
        withdrawn_at=row.withdrawn_at,
        withdrawn_by=row.withdrawn_by,
        withdraw_reason=row.withdraw_reason,
        subject_pseudonym=row.subject_pseudonym,
    )


@dataclass(frozen=True)
class GroundIn:
    subject: str
    ground: str
    article: str | None
    reference: str
    categories: Sequence[str]
    recipients: Sequence[str] | None
    valid_until: date | None


def _now() -> datetime:
    return datetime.now(UTC)


class GroundService:
    def __init__(
        self,
        cases: CaseService,
        policy: Callable[[], CompiledPolicy],
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._cases = cases
        self._policy = policy
        self._today = today

    def record(
        self, session: Session, actor: Actor, case_id: str, ground: GroundIn
    ) -> tuple[CaseRecord, GroundView]:
        case = self._cases.get(session, actor, case_id)  # participant + binding, else 403
        if case.status != "open":
            raise Conflict(detail="The case is closed.")
        pseudonym = subject_pseudonym(case, ground.subject)
        self._check(case, ground)
        row = CaseGround(
            id=new_ground_id(),
            case_id=case.id,
            subject_ref=ground.subject,
            subject_pseudonym=pseudonym,
            ground=ground.ground,
            article=ground.article,
            reference=ground.reference,
            categories_json=json.dumps(sorted(set(ground.categories))),
            recipients_json=(
                json.dumps(sorted(set(ground.recipients))) if ground.recipients else None
            ),
            valid_until=ground.valid_until,
            recorded_by_party=actor.party,
            recorded_by_employee=actor.employee,
            recorded_at=_now(),
        )
        session.add(row)
        session.flush()
        return case, view_of(row)

    def _check(self, case: CaseRecord, ground: GroundIn) -> None:
        if ground.ground not in GROUND_KINDS:
            raise BadGround(detail="Unknown ground.", extensions={"allowed": list(GROUND_KINDS)})
        if ground.ground == STATUTORY and not (ground.article or "").strip():
            raise BadGround(detail="A statutory ground names its article.")
        compiled = self._policy().covenants.get(case.convenant)
        if compiled is None:
            raise Unprocessable(detail="The case's covenant is not loaded.")
        unknown = sorted(set(ground.categories) - set(compiled.categories))
        strangers = sorted(set(ground.recipients or ()) - set(compiled.parties))
        if unknown or strangers:
            raise BadGround(
                detail="The ground names categories or recipients outside the covenant.",
                extensions={"unknown_categories": unknown, "unknown_recipients": strangers},
            )
        if ground.valid_until is not None and ground.valid_until < self._today():
            raise BadGround(detail="valid_until lies in the past.")

    def of_case(self, session: Session, actor: Actor, case_id: str) -> list[GroundView]:
        case = self._cases.get(session, actor, case_id)
        rows = session.scalars(
            select(CaseGround)
            .where(CaseGround.case_id == case.id)
            .order_by(CaseGround.recorded_at, CaseGround.id)
        )
        return [view_of(row) for row in rows]

    def withdraw(
        self, session: Session, actor: Actor, case_id: str, ground_id: str, reason: str
    ) -> tuple[CaseRecord, GroundView]:
        case = self._cases.get(session, actor, case_id)
        row = self._load(session, ground_id)
        if row.case_id != case.id:
            raise NotFound(detail=NO_SUCH_GROUND)
        self._withdraw(row, actor.party, actor.employee, reason)
        session.flush()
        return case, view_of(row)

    def withdraw_by_person(
        self, session: Session, pseudonyms: Sequence[str], ground_id: str, reason: str
    ) -> GroundView:
        """The person withdraws their own consent; any other ground looks unknown to them."""
        row = self._load(session, ground_id)
        if row.subject_pseudonym not in pseudonyms or row.ground != PERSONS_CONSENT:
            raise NotFound(detail=NO_SUCH_GROUND)
        self._withdraw(row, PERSON, None, reason)
        session.flush()
        return view_of(row)

    def of_person(self, session: Session, pseudonyms: Sequence[str]) -> list[GroundView]:
        """The person's own consents (for /mijn), newest first."""
        if not pseudonyms:
            return []
        rows = session.scalars(
            select(CaseGround)
            .where(
                CaseGround.subject_pseudonym.in_(list(pseudonyms)),
                CaseGround.ground == PERSONS_CONSENT,
            )
            .order_by(CaseGround.recorded_at.desc())
        )
        return [view_of(row) for row in rows]

    @staticmethod
    def _load(session: Session, ground_id: str) -> CaseGround:
        row = session.scalar(select(CaseGround).where(CaseGround.id == ground_id).with_for_update())
        if row is None:
            raise NotFound(detail=NO_SUCH_GROUND)
        return row

    @staticmethod
    def _withdraw(row: CaseGround, by: str, employee: str | None, reason: str) -> None:
        if row.withdrawn_at is not None:
            raise AlreadyWithdrawn(detail="The ground was already withdrawn.")
        row.withdrawn_at = _now()
        row.withdrawn_by = by
        row.withdrawn_by_employee = employee
        row.withdraw_reason = reason


def in_force(
    session: Session, *, case_id: str, subject_ref: str, recipient: str, today: date
) -> Mapping[str, tuple[RecordedGround, ...]]:
    """Per category, the grounds covering ``recipient`` for this case and subject today.

    One statement per query; withdrawn and expired grounds are left out, so a
    withdrawal takes effect at the next query.
    """
    rows = session.execute(
        select(
            CaseGround.id,
            CaseGround.ground,
            CaseGround.article,
            CaseGround.categories_json,
            CaseGround.recipients_json,
            CaseGround.valid_until,
        ).where(
            CaseGround.case_id == case_id,
            CaseGround.subject_ref == subject_ref,
            CaseGround.withdrawn_at.is_(None),
        )
    )
    found: dict[str, list[RecordedGround]] = {}
    for gid, kind, article, categories_json, recipients_json, valid_until in rows:
        if valid_until is not None and valid_until < today:
            continue
        if recipients_json is not None and recipient not in json.loads(recipients_json):
            continue
        for category in json.loads(categories_json):
            found.setdefault(category, []).append(RecordedGround(gid, kind, article))
    return {category: tuple(grounds) for category, grounds in found.items()}
