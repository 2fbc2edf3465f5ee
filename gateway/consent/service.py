"""The OvJ consent register: requests, decisions, revocation, and the coverage check.

A consent covers exactly one case, the categories and recipients the OvJ
granted (possibly fewer than asked), until ``valid_until`` inclusive, unless
revoked. Coverage is checked on every query, so revocation and expiry take
effect at once. Only a party holding role ``om`` in the case's covenant
decides or revokes; the deciding OvJ's employee id is recorded.

A pending request may grow while the OvJ reviews it (a later query asks for
more categories). So a grant must name its categories (a grant never covers
what it does not name), may carry the ``version`` it was reviewed at (409 if
the request changed since), and every change to a pending request bumps that
version, is logged and is announced to the OM again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.cases.models import Case
from gateway.cases.service import CaseRecord
from gateway.consent.models import ConsentRequest, new_consent_id
from gateway.consent.withholdings import (
    keep_peer_withholding,
    record_withholdings,
)
from gateway.consent.withholdings import withheld_until as withheld_until_of
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Conflict, Forbidden, NotFound, Unprocessable

Decision = Literal["granted", "refused"]
OM_ROLE = "om"
NO_SUCH_REQUEST = "No such consent request."


_CONSENTS = ConsentRequest.__table__
_GRANTED = select(
    _CONSENTS.c.id,
    _CONSENTS.c.valid_until,
    _CONSENTS.c.granted_categories_json.label("categories"),
    _CONSENTS.c.granted_recipients_json.label("recipients"),
).where(_CONSENTS.c.case_id == bindparam("case_id"), _CONSENTS.c.status == "granted")


class NotOm(Forbidden):
    slug = "not-om"
    title = "Only the Officier van Justitie (role om) may do this"
    reason = "not_om"


class OtherCovenant(NotFound):
    """Another covenant's request, answered exactly like an unknown id (no id oracle).

    The OM of covenant B must not learn that an id belongs to covenant A; the
    attempt is still logged (reason ``other_covenant``) by the desk.
    """

    reason = "other_covenant"


class NotCompetent(Forbidden):
    """A category whose ``agreement_required_from`` names neither role ``om`` nor this party.

    POLICY.md: the category says who may consent (default ``[om]``); the OvJ must
    not grant what the covenant reserves for another authority (e.g. the mayor).
    """

    slug = "consent-not-competent"
    title = "The OvJ may not consent to this category under the covenant"
    reason = "not_competent"


class AlreadyDecided(Conflict):
    slug = "consent-already-decided"
    title = "The consent request was already decided"


class NotRevocable(Conflict):
    slug = "consent-not-revocable"
    title = "Only a granted consent can be revoked"


class NotNarrower(Unprocessable):
    slug = "consent-not-narrower"
    title = "A grant may only narrow the request"


class BadValidity(Unprocessable):
    """``valid_until`` missing, past, or beyond the covenant's ``consent_max``."""

    slug = "consent-validity"
    title = "valid_until is missing, in the past or beyond consent_max"


class BadWithholding(Unprocessable):
    """``withheld_until`` in the past or beyond the covenant's ``rights.withheld_max``."""

    slug = "consent-withheld-until"
    title = "withheld_until lies in the past or beyond withheld_max"


class CategoriesRequired(Unprocessable):
    """A grant that names no categories would cover whatever the request grew into."""

    slug = "consent-categories-required"
    title = "A grant must name its categories explicitly"


class RequestChanged(Conflict):
    """The request changed (widened, new phase) after the version the OvJ reviewed."""

    slug = "consent-request-changed"
    title = "The consent request changed since the version that was reviewed"


class AuditAppender(Protocol):
    def append_in(self, session: Session, events: Sequence[AuditEvent]) -> list[int]: ...


@dataclass(frozen=True)
class ConsentNotice:
    """What the OM's system hears of a new request: identifiers only, never the BSN."""

    id: str
    convenant: str
    case: str
    categories: tuple[str, ...]
    recipient: str
    purpose: str
    case_phase: str
    requested_by_employee: str
    created_at: datetime
    version: int = 1
    event: Literal["created", "widened", "changed"] = "created"
    added_categories: tuple[str, ...] = ()


Notifier = Callable[[ConsentNotice], None]


@dataclass(frozen=True)
class ConsentView:
    id: str
    case: str
    convenant: str
    purpose: str
    recipient: str
    case_phase: str
    categories: tuple[str, ...]
    requested_by_employee: str
    created_at: datetime
    status: str
    decided_at: datetime | None
    decided_by_party: str | None
    decided_by_employee: str | None
    reason: str | None
    valid_until: date | None
    granted_categories: tuple[str, ...]
    granted_recipients: tuple[str, ...]
    withheld_until: date | None
    revoked_at: datetime | None
    revoked_by_employee: str | None = None
    version: int = 1

    def effective_status(self, today: date) -> str:
        if self.status == "granted" and self.valid_until is not None and self.valid_until < today:
            return "expired"
        return self.status


def view_of(row: ConsentRequest) -> ConsentView:
    return ConsentView(
        id=row.id,
        case=row.case_id,
        convenant=row.convenant,
        purpose=row.purpose,
        recipient=row.recipient,
        case_phase=row.case_phase,
        categories=tuple(row.categories),
        requested_by_employee=row.requested_by_employee,
        created_at=row.created_at,
        status=row.status,
        decided_at=row.decided_at,
        decided_by_party=row.decided_by_party,
        decided_by_employee=row.decided_by_employee,
        reason=row.reason,
        valid_until=row.valid_until,
        granted_categories=tuple(row.granted_categories),
        granted_recipients=tuple(row.granted_recipients),
        withheld_until=row.withheld_until,
        revoked_at=row.revoked_at,
        revoked_by_employee=row.revoked_by_employee,
        version=row.version,
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OmActor:
    party: str
    employee: str
    covenant: str


class ConsentService:
    """Implements the broker's ``ConsentPort`` and the OvJ's decisions."""

    def __init__(
        self,
        policy: Callable[[], CompiledPolicy],
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
        notifier: Notifier | None = None,
        audit: AuditAppender | None = None,
    ) -> None:
        self._policy = policy
        self._today = today
        self._notifier = notifier
        self._audit = audit

    # --- the broker's side -------------------------------------------------

    def covering(
        self, session: Session, *, case_id: str, category: str, recipient: str, today: date
    ) -> str | None:
        return self.covering_many(
            session, case_id=case_id, categories=[category], recipient=recipient, today=today
        )[category]

    def covering_many(
        self,
        session: Session,
        *,
        case_id: str,
        categories: Sequence[str],
        recipient: str,
        today: date,
    ) -> dict[str, str | None]:
        """Per category the id of a valid consent covering (case, category, recipient).

        One Core statement for all categories of a query (its compiled form cached),
        instead of one ORM load per (source, category).
        """
        rows = session.connection().execute(_GRANTED, {"case_id": case_id}).all()
        valid = [
            (row.id, json.loads(row.categories or "[]"), json.loads(row.recipients or "[]"))
            for row in rows
            if row.valid_until is not None and row.valid_until >= today
        ]
        return {
            category: next(
                (cid for cid, cats, recips in valid if category in cats and recipient in recips),
                None,
            )
            for category in categories
        }

    def request(
        self,
        session: Session,
        *,
        case: CaseRecord,
        categories: Sequence[str],
        recipient: str,
        purpose: str,
        employee: str,
    ) -> tuple[str, bool]:
        """Reuse the open request for (case, recipient, purpose), widening it if needed.

        A widening (or a new case phase) is a new question for the OvJ: it bumps
        the version, is logged in this transaction and announced to the OM again.
        """
        pending = session.scalar(
            select(ConsentRequest)
            .where(
                ConsentRequest.case_id == case.id,
                ConsentRequest.recipient == recipient,
                ConsentRequest.purpose == purpose,
                ConsentRequest.status == "pending",
            )
            .with_for_update()
        )
        if pending is not None:
            self._widen(session, pending, case, categories, employee)
            return pending.id, False
        row = ConsentRequest(
            id=new_consent_id(),
            case_id=case.id,
            convenant=case.convenant,
            purpose=purpose,
            recipient=recipient,
            case_phase=case.phase,
            categories_json=json.dumps(sorted(set(categories))),
            requested_by_employee=employee,
            created_at=_now(),
            status="pending",
        )
        session.add(row)
        session.flush()
        self._notify_after_commit(session, row)
        return row.id, True

    def withheld_until(
        self,
        session: Session,
        *,
        case: CaseRecord,
        category: str,
        recipient: str,
        source: str,
        consent_id: str | None,
        peer_until: date | None,
        today: date,
    ) -> date | None:
        """Our withholding of (case, category, recipient), or the peer's, now recorded here.

        A peer gateway's answer carries its OvJ's ``withheld_until``; without keeping it
        here the person would read in our inzage what the peer's OvJ withheld. It is
        capped by our covenant's ``rights.withheld_max`` (a peer cannot hide a
        disclosure here for longer than our covenant allows); a past date is ignored.
        """
        if peer_until is not None and peer_until > today:
            covenant = self._policy().covenant(case.convenant)
            if covenant is not None:
                peer_until = min(peer_until, covenant.rights.withheld_max.add_to(today))
            keep_peer_withholding(
                session,
                subject_pseudonym=case.subject_pseudonym,
                case_id=case.id,
                category=category,
                recipient=recipient,
                until=peer_until,
                consent_id=consent_id,
                party=source,
            )
        return withheld_until_of(
            session,
            subject_pseudonym=case.subject_pseudonym,
            case_id=case.id,
            category=category,
            recipient=recipient,
            today=today,
        )

    def _widen(
        self,
        session: Session,
        row: ConsentRequest,
        case: CaseRecord,
        categories: Sequence[str],
        employee: str,
    ) -> None:
        added = tuple(sorted(set(categories) - set(row.categories)))
        previous_phase = row.case_phase
        if not added and previous_phase == case.phase:
            return
        row.categories_json = json.dumps(sorted(set(row.categories) | set(added)))
        row.case_phase = case.phase  # the OvJ weighs the phase the case is in now
        row.version += 1
        session.flush()
        change: Literal["widened", "changed"] = "widened" if added else "changed"
        if self._audit is not None:
            self._audit.append_in(
                session, [self._change_event(row, case, change, added, previous_phase, employee)]
            )
        self._notify_after_commit(session, row, event=change, added=added)

    def _change_event(
        self,
        row: ConsentRequest,
        case: CaseRecord,
        change: str,
        added: tuple[str, ...],
        previous_phase: str,
        employee: str,
    ) -> AuditEvent:
        return AuditEvent(
            kind="consent",
            outcome=change,
            reason="categories_added" if added else "case_phase_changed",
            party=row.recipient,
            employee=employee,
            convenant=row.convenant,
            purpose=row.purpose,
            case=row.case_id,
            consent_id=row.id,
            subject_pseudonym=case.subject_pseudonym,
            covenant_version=self._policy().covenant_version(row.convenant),
            processing_activity=processing_activity_uri(row.convenant, row.purpose),
            details={
                "categories": ",".join(row.categories),
                "added": ",".join(added) or None,
                "case_phase": row.case_phase,
                "previous_phase": previous_phase if previous_phase != row.case_phase else None,
                "version": row.version,
            },
        )

    def _notify_after_commit(
        self,
        session: Session,
        row: ConsentRequest,
        *,
        event: Literal["created", "widened", "changed"] = "created",
        added: tuple[str, ...] = (),
    ) -> None:
        """Tell the OM only about a request that really exists (the query's commit)."""
        notifier = self._notifier
        if notifier is None:
            return
        notice = ConsentNotice(
            id=row.id,
            convenant=row.convenant,
            case=row.case_id,
            categories=tuple(row.categories),
            recipient=row.recipient,
            purpose=row.purpose,
            case_phase=row.case_phase,
            requested_by_employee=row.requested_by_employee,
            created_at=row.created_at,
            version=row.version,
            event=event,
            added_categories=added,
        )
        sa_event.listen(session, "after_commit", lambda _session: notifier(notice), once=True)

    # --- the OvJ's side ----------------------------------------------------

    def require_om_role(self, actor: OmActor) -> None:
        """Checked before any lookup, so a non-OM party cannot probe which ids exist."""
        if not self._policy().has_role(actor.covenant, actor.party, OM_ROLE):
            raise NotOm()

    def _require_om(self, actor: OmActor, convenant: str) -> None:
        if actor.covenant != convenant:
            raise OtherCovenant(detail=NO_SUCH_REQUEST)
        if not self._policy().has_role(convenant, actor.party, OM_ROLE):
            raise NotOm()

    def find(self, session: Session, actor: OmActor, status: str | None) -> list[ConsentView]:
        self.require_om_role(actor)
        query = select(ConsentRequest).where(ConsentRequest.convenant == actor.covenant)
        if status in ("pending", "granted", "refused", "revoked"):
            query = query.where(ConsentRequest.status == status)
        rows = session.scalars(query.order_by(ConsentRequest.created_at))
        views = [view_of(row) for row in rows]
        if status in ("granted", "expired"):
            today = self._today()
            views = [v for v in views if v.effective_status(today) == status]
        return views

    def get(self, session: Session, actor: OmActor, consent_id: str) -> ConsentView:
        self.require_om_role(actor)
        row = self._load(session, consent_id)
        self._require_om(actor, row.convenant)
        return view_of(row)

    def _load(self, session: Session, consent_id: str, *, lock: bool = False) -> ConsentRequest:
        query = select(ConsentRequest).where(ConsentRequest.id == consent_id)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFound(detail=NO_SUCH_REQUEST)
        return row

    def decide(
        self,
        session: Session,
        actor: OmActor,
        consent_id: str,
        *,
        decision: Decision,
        reason: str,
        valid_until: date | None,
        categories: Sequence[str] | None,
        recipients: Sequence[str] | None,
        withheld_until: date | None,
        version: int | None = None,
    ) -> ConsentView:
        self.require_om_role(actor)
        row = self._load(session, consent_id, lock=True)
        self._require_om(actor, row.convenant)
        if row.status != "pending":
            raise AlreadyDecided()
        if version is not None and version != row.version:
            raise RequestChanged(
                detail="The request changed after the version you reviewed; review it again.",
                extensions={"version": row.version, "categories": row.categories},
            )
        now = _now()
        if decision == "granted":
            if categories is None:
                raise CategoriesRequired(
                    detail="A grant must name the categories it covers.",
                    extensions={"requested": row.categories},
                )
            if version is None and row.version > 1:
                # Categories named explicitly do not say which case phase the OvJ weighed, and
                # a client may copy them from the request as it is now: once the request has
                # changed, only a grant naming the version it reviewed can show it is current.
                raise RequestChanged(
                    detail="The request changed since it was opened; name the reviewed version.",
                    extensions={"version": row.version, "categories": row.categories},
                )
            granted_categories = self._narrower(categories, row.categories, "categories")
            self._require_competent(actor, row.convenant, granted_categories)
            granted_recipients = self._narrower(recipients, [row.recipient], "recipients")
            row.valid_until = self._check_valid_until(row.convenant, valid_until)
            row.withheld_until = self._check_withheld_until(row.convenant, withheld_until)
            row.granted_categories_json = json.dumps(granted_categories)
            row.granted_recipients_json = json.dumps(granted_recipients)
            if row.withheld_until is not None:
                self._keep_withholding(
                    session, row, granted_categories, granted_recipients, actor.party
                )
        row.status = decision
        row.reason = reason
        row.decided_at = now
        row.decided_by_party = actor.party
        row.decided_by_employee = actor.employee
        session.flush()
        return view_of(row)

    def _keep_withholding(
        self,
        session: Session,
        row: ConsentRequest,
        categories: Sequence[str],
        recipients: Sequence[str],
        party: str,
    ) -> None:
        """The withholding outlives this row (expiry, retention): it lives with the person."""
        case = session.get(Case, row.case_id)
        if case is None or row.withheld_until is None:
            raise NotFound(detail="The case of this consent request no longer exists.")
        record_withholdings(
            session,
            subject_pseudonym=case.subject_pseudonym,
            case_id=row.case_id,
            categories=categories,
            recipients=recipients,
            until=row.withheld_until,
            consent_id=row.id,
            party=party,
        )

    def _require_competent(self, actor: OmActor, convenant: str, categories: Sequence[str]) -> None:
        """Each category's ``agreement_required_from`` (default ``[om]``) must name the OM."""
        policy = self._policy()
        barred = []
        for category_id in categories:
            category = policy.category(convenant, category_id)
            who = (category.agreement_required_from if category else ()) or (OM_ROLE,)
            if OM_ROLE not in who and actor.party not in who:
                barred.append(category_id)
        if barred:
            raise NotCompetent(
                detail="The covenant reserves consent to these categories to another authority.",
                extensions={"not_competent": sorted(barred)},
            )

    def revoke(self, session: Session, actor: OmActor, consent_id: str, reason: str) -> ConsentView:
        self.require_om_role(actor)
        row = self._load(session, consent_id, lock=True)
        self._require_om(actor, row.convenant)
        if row.status != "granted":
            raise NotRevocable(detail="Only a granted consent can be revoked.")
        row.status = "revoked"
        row.revoked_at = _now()
        row.revoked_by_employee = actor.employee
        row.reason = reason
        session.flush()
        return view_of(row)

    def _check_withheld_until(self, convenant: str, withheld_until: date | None) -> date | None:
        """Not in the past and at most ``rights.withheld_max`` (default P4Y) from today."""
        if withheld_until is None:
            return None
        today = self._today()
        if withheld_until < today:
            raise BadWithholding(detail="withheld_until lies in the past.")
        covenant = self._policy().covenant(convenant)
        if covenant is None:
            raise Unprocessable(detail="The covenant is no longer loaded.")
        limit = covenant.rights.withheld_max.add_to(today)
        if withheld_until > limit:
            raise BadWithholding(
                detail="withheld_until exceeds the covenant's rights.withheld_max.",
                extensions={"latest_allowed": limit.isoformat()},
            )
        return withheld_until

    @staticmethod
    def _narrower(chosen: Sequence[str] | None, asked: Sequence[str], what: str) -> list[str]:
        if chosen is None:
            return sorted(set(asked))
        extra = sorted(set(chosen) - set(asked))
        if extra:
            raise NotNarrower(
                detail=f"A grant may only narrow the request: {what} not asked for.",
                extensions={"not_requested": extra},
            )
        if not chosen:
            raise NotNarrower(detail=f"A grant needs at least one of the requested {what}.")
        return sorted(set(chosen))

    def _check_valid_until(self, convenant: str, valid_until: date | None) -> date:
        today = self._today()
        if valid_until is None:
            raise BadValidity(detail="A grant needs valid_until.")
        if valid_until < today:
            raise BadValidity(detail="valid_until lies in the past.")
        covenant = self._policy().covenant(convenant)
        if covenant is None:
            raise Unprocessable(detail="The covenant is no longer loaded.")
        limit = covenant.retention.consent_max.add_to(today)
        if valid_until > limit:
            raise BadValidity(
                detail="valid_until exceeds the covenant's consent_max.",
                extensions={"latest_allowed": limit.isoformat()},
            )
        return valid_until
