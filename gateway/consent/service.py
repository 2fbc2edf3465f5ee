"""The OvJ consent register: requests, decisions, revocation, and the coverage check.

A consent covers exactly one case, the categories and recipients the OvJ
granted (possibly fewer than asked), until ``valid_until`` inclusive, unless
revoked. Coverage is checked on every query, so revocation and expiry take
effect at once. Who decides follows each category's ``agreement_required_from``
(default ``[om]``; e.g. ``[om, burgemeester]`` for police data, Wpg art. 20):
a grant names only categories its decider is competent for; the deciding
employee id is recorded. A grant may narrow to sources and to fields.

Proportionality: a query for criminal data carries the requester's motivation
(a covenant code and a free text), kept on the request for the OvJ. A refusal
stands for (case, subject, category, recipient): the next query is denied
``consent_refused`` instead of asking again, until a query brings a new
motivation, which opens a new request.

A pending request may grow while the OvJ reviews it (a later query asks for
more categories). So a grant must name its categories (a grant never covers
what it does not name), may carry the ``version`` it was reviewed at (409 if
the request changed since), and every change to a pending request bumps that
version, is logged and is announced to the OM again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.cases.models import subject_of
from gateway.cases.service import CaseRecord
from gateway.consent.models import ConsentRequest, new_consent_id
from gateway.consent.withholdings import (
    keep_peer_withholding,
    record_withholdings,
)
from gateway.consent.withholdings import withheld_until as withheld_until_of
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.durations import IsoDuration
from gateway.policy.models import Covenant
from gateway.problems import Conflict, Forbidden, NotFound, Unprocessable
from gateway.storage.precompiled import Precompiled
from gateway.storage.reads import Read, read

ConsentDecision = Literal["granted", "refused"]
OM_ROLE = "om"
NO_SUCH_REQUEST = "No such consent request."


_CONSENTS = ConsentRequest.__table__
# The broker's one read of the register per query (and one more after the answers):
# every request of (case, subject, recipient), as a Core statement built once (its
# compiled form cached by SQLAlchemy), without ORM objects or an identity map.
_STANDING = Precompiled(
    select(
        _CONSENTS.c.id,
        _CONSENTS.c.status,
        _CONSENTS.c.categories_json,
        _CONSENTS.c.granted_categories_json,
        _CONSENTS.c.granted_recipients_json,
        _CONSENTS.c.granted_sources_json,
        _CONSENTS.c.granted_fields_json,
        _CONSENTS.c.valid_until,
        _CONSENTS.c.decided_by_party,
        _CONSENTS.c.motivation_code,
        _CONSENTS.c.motivation_text,
        _CONSENTS.c.created_at,
    ).where(
        _CONSENTS.c.case_id == bindparam("case_id"),
        _CONSENTS.c.recipient == bindparam("recipient"),
        _CONSENTS.c.subject_ref == bindparam("subject_ref"),
    )
)


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
    subject_ref: str = "s1"
    motivation_code: str | None = None
    motivation_text: str | None = None
    granted_sources: tuple[str, ...] | None = None
    granted_fields: dict[str, tuple[str, ...]] | None = None
    # Filled for the deciding authority: the sources that would answer, and whether a
    # verzet restricts the case (a verzet stops disclosure whatever the OvJ decides).
    sources: tuple[str, ...] = ()
    objection_pending: bool = False

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
        subject_ref=row.subject_ref,
        motivation_code=row.motivation_code,
        motivation_text=row.motivation_text,
        granted_sources=tuple(row.granted_sources) if row.granted_sources is not None else None,
        granted_fields=(
            {cat: tuple(fields) for cat, fields in row.granted_fields.items()}
            if row.granted_fields is not None
            else None
        ),
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OmActor:
    """The deciding authority: the OvJ, or whom a category's agreement_required_from names."""

    party: str
    employee: str
    covenant: str


@dataclass(frozen=True)
class Motivation:
    """Why the requester needs criminal data: a covenant code and a free text."""

    code: str
    text: str


@dataclass(frozen=True)
class Cover:
    """A grant covering one (category, source): who gave it and which fields it allows."""

    consent_id: str
    decided_by: str | None
    fields: frozenset[str] | None


@dataclass(frozen=True)
class _Decided:
    id: str
    status: str
    categories: frozenset[str]
    granted_categories: frozenset[str]
    granted_recipients: frozenset[str]
    granted_sources: frozenset[str] | None
    granted_fields: dict[str, frozenset[str]] | None
    valid_until: date | None
    decided_by: str | None
    motivation: tuple[str | None, str | None]
    created_at: datetime


@dataclass(frozen=True)
class ConsentStanding:
    """Every request of one (case, subject, recipient), loaded once per query.

    ``cover`` answers the coverage of a (category, source); ``refused`` whether a
    refusal stands for a category against this query's motivation.
    """

    requests: tuple[_Decided, ...]
    recipient: str
    today: date

    def cover(self, category: str, source: str) -> Cover | None:
        for row in self.requests:
            if row.status != "granted" or row.valid_until is None or row.valid_until < self.today:
                continue
            if category not in row.granted_categories:
                continue
            if self.recipient not in row.granted_recipients:
                continue
            if row.granted_sources is not None and source not in row.granted_sources:
                continue
            fields = row.granted_fields.get(category) if row.granted_fields is not None else None
            return Cover(row.id, row.decided_by, fields)
        return None

    def covering(self, category: str, source: str | None) -> str | None:
        """Id of a valid grant covering ``category`` (from ``source``, if named), else None."""
        if source is not None:
            cover = self.cover(category, source)
            return cover.consent_id if cover is not None else None
        return next(
            (
                row.id
                for row in self.requests
                if row.status == "granted"
                and row.valid_until is not None
                and row.valid_until >= self.today
                and category in row.granted_categories
                and self.recipient in row.granted_recipients
            ),
            None,
        )

    def refused(self, category: str, motivation: Motivation | None) -> str | None:
        """The standing refusal for ``category``, unless this query brings a new motivation."""
        latest = max(
            (row for row in self.requests if category in row.categories),
            key=lambda row: row.created_at,
            default=None,
        )
        if latest is None or latest.status != "refused":
            return None
        if motivation is not None and (motivation.code, motivation.text) != latest.motivation:
            return None
        return latest.id


def _json_set(text: str | None) -> frozenset[str]:
    return frozenset(json.loads(text)) if text else frozenset()


def _standing_of(
    recipient: str, today: date, _connection: Connection, rows: list[Any]
) -> ConsentStanding:
    return ConsentStanding(tuple(_decided(row) for row in rows), recipient, today)


def _decided(row: Any) -> _Decided:
    fields: dict[str, list[str]] | None = (
        json.loads(row.granted_fields_json) if row.granted_fields_json is not None else None
    )
    return _Decided(
        id=row.id,
        status=row.status,
        categories=_json_set(row.categories_json),
        granted_categories=_json_set(row.granted_categories_json),
        granted_recipients=_json_set(row.granted_recipients_json),
        granted_sources=(
            _json_set(row.granted_sources_json) if row.granted_sources_json is not None else None
        ),
        granted_fields=(
            {cat: frozenset(names) for cat, names in fields.items()} if fields is not None else None
        ),
        valid_until=row.valid_until,
        decided_by=row.decided_by_party,
        motivation=(row.motivation_code, row.motivation_text),
        created_at=row.created_at,
    )


class ConsentService:
    """Implements the broker's ``ConsentPort`` and the OvJ's decisions."""

    def __init__(
        self,
        policy: Callable[[], CompiledPolicy],
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
        notifier: Notifier | None = None,
        audit: AuditAppender | None = None,
        objection: Callable[[Session, str, str], bool] | None = None,
    ) -> None:
        self._policy = policy
        self._today = today
        self._notifier = notifier
        self._audit = audit
        self._objection = objection

    # --- the broker's side -------------------------------------------------

    def covering(
        self,
        session: Session,
        *,
        case_id: str,
        category: str,
        recipient: str,
        today: date,
        source: str | None = None,
        subject_ref: str = "s1",
    ) -> str | None:
        standing = self.standing(
            session, case_id=case_id, subject_ref=subject_ref, recipient=recipient, today=today
        )
        return standing.covering(category, source)

    def standing(
        self, session: Session, *, case_id: str, subject_ref: str, recipient: str, today: date
    ) -> ConsentStanding:
        """One statement: every request of this (case, subject, recipient), for the plan
        and for the recheck after the sources answered."""
        return read(
            session,
            self.standing_read(
                case_id=case_id, subject_ref=subject_ref, recipient=recipient, today=today
            ),
        )

    def standing_read(
        self, *, case_id: str, subject_ref: str, recipient: str, today: date
    ) -> Read[ConsentStanding]:
        """:meth:`standing` as a read to send with others (gateway/storage/reads.py)."""
        params = {"case_id": case_id, "recipient": recipient, "subject_ref": subject_ref}
        return Read(_STANDING, params, partial(_standing_of, recipient, today))

    def request(
        self,
        session: Session,
        *,
        case: CaseRecord,
        categories: Sequence[str],
        recipient: str,
        purpose: str,
        employee: str,
        motivation: Motivation | None = None,
        subject_ref: str = "s1",
    ) -> tuple[str, bool]:
        """Reuse the open request for (case, subject, recipient, purpose), widening it if needed.

        A widening, a new case phase or a new motivation is a new question for the
        OvJ: it bumps the version, is logged in this transaction and announced again.
        """
        pending = session.scalar(
            select(ConsentRequest)
            .where(
                ConsentRequest.case_id == case.id,
                ConsentRequest.recipient == recipient,
                ConsentRequest.purpose == purpose,
                ConsentRequest.subject_ref == subject_ref,
                ConsentRequest.status == "pending",
            )
            .with_for_update()
        )
        if pending is not None:
            self._widen(session, pending, case, categories, employee, motivation)
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
            subject_ref=subject_ref,
            motivation_code=motivation.code if motivation is not None else None,
            motivation_text=motivation.text if motivation is not None else None,
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
    ) -> tuple[date | None, date | None]:
        """Our withholding of (case, category, recipient), or the peer's, now recorded here.

        A peer gateway's answer carries its OvJ's ``withheld_until``; without keeping it
        here the person would read in our inzage what the peer's OvJ withheld. It is
        capped by our covenant's ``rights.withheld_max`` (a peer cannot hide a
        disclosure here for longer than our covenant allows); a past date is ignored.
        Returns (until when it is withheld, the day a row recorded now runs to): the
        second goes into the disclosure's log entry, which backs that row in verify.
        """
        kept: date | None = None
        if peer_until is not None and peer_until > today:
            covenant = self._policy().covenant(case.convenant)
            if covenant is not None:
                peer_until = min(peer_until, covenant.rights.withheld_max.add_to(today))
            kept = keep_peer_withholding(
                session,
                subject_pseudonym=case.subject_pseudonym,
                case_id=case.id,
                category=category,
                recipient=recipient,
                until=peer_until,
                consent_id=consent_id,
                party=source,
            )
        until = withheld_until_of(
            session,
            subject_pseudonym=case.subject_pseudonym,
            case_id=case.id,
            category=category,
            recipient=recipient,
            today=today,
        )
        return until, kept

    def _widen(
        self,
        session: Session,
        row: ConsentRequest,
        case: CaseRecord,
        categories: Sequence[str],
        employee: str,
        motivation: Motivation | None = None,
    ) -> None:
        added = tuple(sorted(set(categories) - set(row.categories)))
        previous_phase = row.case_phase
        new_motivation = motivation is not None and (motivation.code, motivation.text) != (
            row.motivation_code,
            row.motivation_text,
        )
        if not added and previous_phase == case.phase and not new_motivation:
            return
        row.categories_json = json.dumps(sorted(set(row.categories) | set(added)))
        row.case_phase = case.phase  # the OvJ weighs the phase the case is in now
        if motivation is not None and new_motivation:
            row.motivation_code, row.motivation_text = motivation.code, motivation.text
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
            reason=(
                "categories_added"
                if added
                else "case_phase_changed"
                if previous_phase != row.case_phase
                else "motivation_changed"
            ),
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
                "motivation_code": row.motivation_code,
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
        """Checked before any lookup, so a party that decides nothing cannot probe ids.

        The OvJ (role ``om``) and every authority a category's
        ``agreement_required_from`` names (e.g. the burgemeester) pass.
        """
        compiled = self._policy().covenants.get(actor.covenant)
        if compiled is None or not compiled.may_decide_consents(actor.party):
            raise NotOm()

    def _require_om(self, actor: OmActor, row: ConsentRequest) -> None:
        if actor.covenant != row.convenant:
            raise OtherCovenant(detail=NO_SUCH_REQUEST)
        self.require_om_role(actor)
        if not self._sees(actor, row):
            raise OtherCovenant(detail=NO_SUCH_REQUEST)

    def _sees(self, actor: OmActor, row: ConsentRequest) -> bool:
        """The OvJ sees every request; another authority only those it may grant something of."""
        if self._policy().has_role(actor.covenant, actor.party, OM_ROLE):
            return True
        compiled = self._policy().covenants.get(actor.covenant)
        return compiled is not None and any(
            compiled.competent(actor.party, category) for category in row.categories
        )

    def find(self, session: Session, actor: OmActor, status: str | None) -> list[ConsentView]:
        self.require_om_role(actor)
        query = select(ConsentRequest).where(ConsentRequest.convenant == actor.covenant)
        if status in ("pending", "granted", "refused", "revoked"):
            query = query.where(ConsentRequest.status == status)
        rows = [row for row in session.scalars(query.order_by(ConsentRequest.created_at))]
        views = [self._enrich(session, row) for row in rows if self._sees(actor, row)]
        if status in ("granted", "expired"):
            today = self._today()
            views = [v for v in views if v.effective_status(today) == status]
        return views

    def _enrich(self, session: Session, row: ConsentRequest) -> ConsentView:
        """What the deciding authority weighs: the sources that would answer, any verzet."""
        view = view_of(row)
        objection = False
        if self._objection is not None:
            pseudonym = session.scalar(subject_of(row.case_id, row.subject_ref))
            objection = pseudonym is not None and self._objection(session, pseudonym, row.case_id)
        return replace(view, sources=self.answering_sources(row), objection_pending=objection)

    def answering_sources(self, row: ConsentRequest) -> tuple[str, ...]:
        """Parties holding a requested category that a rule lets answer this recipient."""
        compiled = self._policy().covenants.get(row.convenant)
        if compiled is None:
            return ()
        found: dict[str, None] = {}
        for category in row.categories:
            for source in self._policy().holders(row.convenant, category):
                if (row.purpose, row.recipient, source, category) in compiled.grants:
                    found[source] = None
        return tuple(found)

    def get(self, session: Session, actor: OmActor, consent_id: str) -> ConsentView:
        self.require_om_role(actor)
        row = self._load(session, consent_id)
        self._require_om(actor, row)
        return self._enrich(session, row)

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
        decision: ConsentDecision,
        reason: str,
        valid_until: date | None,
        categories: Sequence[str] | None,
        recipients: Sequence[str] | None,
        withheld_until: date | None,
        version: int | None = None,
        sources: Sequence[str] | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> ConsentView:
        self.require_om_role(actor)
        row = self._load(session, consent_id, lock=True)
        self._require_om(actor, row)
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
            if sources is not None:
                row.granted_sources_json = json.dumps(
                    self._narrower(sources, self.answering_sources(row), "sources")
                )
            if fields is not None:
                row.granted_fields_json = json.dumps(
                    self._granted_fields(row.convenant, granted_categories, fields)
                )
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
        """The withholding outlives this row (expiry, retention): it lives with the person
        the request is about, whose inzage must not show it (a household member's too)."""
        person = session.scalar(subject_of(row.case_id, row.subject_ref))
        if person is None or row.withheld_until is None:
            raise NotFound(detail="The person of this consent request is no longer in its case.")
        record_withholdings(
            session,
            subject_pseudonym=person,
            case_id=row.case_id,
            categories=categories,
            recipients=recipients,
            until=row.withheld_until,
            consent_id=row.id,
            party=party,
        )

    def _granted_fields(
        self, convenant: str, categories: Sequence[str], fields: Mapping[str, Sequence[str]]
    ) -> dict[str, list[str]]:
        """Per granted category, a non-empty subset of its covenant fields (minimisation)."""
        compiled = self._policy().covenants.get(convenant)
        outside = sorted(set(fields) - set(categories))
        if outside or compiled is None:
            raise NotNarrower(
                detail="fields may only name granted categories.",
                extensions={"not_requested": outside},
            )
        granted: dict[str, list[str]] = {}
        for category, names in fields.items():
            known = compiled.categories[category].fields if category in compiled.categories else ()
            extra = sorted(set(names) - set(known))
            if extra or not names:
                raise NotNarrower(
                    detail=f"fields of {category} must be a non-empty subset of its fields.",
                    extensions={"unknown_fields": extra},
                )
            granted[category] = sorted(set(names))
        return granted

    def _require_competent(self, actor: OmActor, convenant: str, categories: Sequence[str]) -> None:
        """Each category's ``agreement_required_from`` (default ``[om]``) must name the decider."""
        compiled = self._policy().covenants.get(convenant)
        barred = [
            category_id
            for category_id in categories
            if compiled is None or not compiled.competent(actor.party, category_id)
        ]
        if barred:
            raise NotCompetent(
                detail="The covenant reserves consent to these categories to another authority.",
                extensions={"not_competent": sorted(barred)},
            )

    def revoke(self, session: Session, actor: OmActor, consent_id: str, reason: str) -> ConsentView:
        self.require_om_role(actor)
        row = self._load(session, consent_id, lock=True)
        self._require_om(actor, row)
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
        return self._within_term(
            convenant,
            withheld_until,
            field="withheld_until",
            term="rights.withheld_max",
            term_of=lambda covenant: covenant.rights.withheld_max,
            problem=BadWithholding,
        )

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
        if valid_until is None:
            raise BadValidity(detail="A grant needs valid_until.")
        return self._within_term(
            convenant,
            valid_until,
            field="valid_until",
            term="consent_max",
            term_of=lambda covenant: covenant.retention.consent_max,
            problem=BadValidity,
        )

    def _within_term(
        self,
        convenant: str,
        day: date,
        *,
        field: str,
        term: str,
        term_of: Callable[[Covenant], IsoDuration],
        problem: type[Unprocessable],
    ) -> date:
        """``day`` (the grant's ``field``) lies from today up to the covenant's ``term`` after it.

        Both end dates of a grant are bounded so, each by its own term of the
        covenant in force; outside it: ``problem`` (422), naming the field and term.
        """
        today = self._today()
        if day < today:
            raise problem(detail=f"{field} lies in the past.")
        covenant = self._policy().covenant(convenant)
        if covenant is None:
            raise Unprocessable(detail="The covenant is no longer loaded.")
        limit = term_of(covenant).add_to(today)
        if day > limit:
            raise problem(
                detail=f"{field} exceeds the covenant's {term}.",
                extensions={"latest_allowed": limit.isoformat()},
            )
        return day
