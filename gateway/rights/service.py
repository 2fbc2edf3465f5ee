"""Filing, reading and deciding rights requests — the rules, without HTTP.

Who decides follows API.md §6: the covenant's ``controller`` for inzage and
verzet, the source party for a correctie of its own records (the controller
when the person does not know which source holds them). Who may read a
request: the person, the party that filed it, the responsible party, and the
covenant's privacy officer. Every step is logged under the person's own key
(scope ``subject``), in the same transaction as the change.

Who may file: the person for themself, or a partner on their behalf only for
cases it participates in, in its token's covenant, about that person; the
``source`` must be a source of those cases (the BSN goes nowhere else). A
refusal raises :class:`FilingRefused` with the reason; the desk logs it and
answers every reason alike, so filing is no BSN-to-case oracle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent, DetailValue
from gateway.cases.models import Case, case_ids_of
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.durations import parse_duration
from gateway.policy.models import Covenant
from gateway.problems import Conflict, Forbidden, NotFound
from gateway.rights.answers import record_json, seal_records
from gateway.rights.contested import GRANTED, drop_corrected_copies
from gateway.rights.deadlines import RequestType, deadline_for
from gateway.rights.events import rights_event
from gateway.rights.models import RequestSource, RightsRequest, new_request_id
from gateway.rights.peers import (
    is_peer,
    local_records,
    own_sources,
    peer_cases,
    peer_targets,
)
from gateway.rights.refusals import FilingRefused, refusal_event
from gateway.rights.sealing import RequestSealer
from gateway.rights.steps import AnswerRefused, ExecutionRefused, NotPending, check_extension
from gateway.rights.views import Forwarding, RequestView, for_parties, view_of
from gateway.subjects.bsn import Bsn, Pseudonymizer

RightsDecision = Literal["granted", "partially_granted", "refused"]
PRIVACY_OFFICER = "privacy_officer"


class NotResponsible(Forbidden):
    slug = "not-responsible"
    title = "Only the party responsible for this request may decide it"


class AlreadyDecided(Conflict):
    slug = "rights-request-decided"
    title = "The rights request was already decided"


@dataclass(frozen=True)
class Filer:
    """Who files: the person themself (``party`` None) or a partner on their behalf."""

    party: str | None = None
    employee: str | None = None
    covenant: str | None = None
    representative: str | None = None
    """``ouder``/``voogd``/``gemachtigde``: a representative's login acts for the person."""
    peer_request: str | None = None
    """A peer region's gateway files: its own request id (channel ``peer``)."""

    @property
    def channel(self) -> str:
        if self.peer_request is not None:
            return "peer"
        return "portal" if self.party is None else "partner"


@dataclass(frozen=True)
class Application:
    type: RequestType
    bsn: Bsn
    details: str
    cases: tuple[str, ...] = ()
    records: tuple[str, ...] = ()
    source: str | None = None
    deadline: date | None = None
    """A peer region's request: its own deadline (ours binds when earlier)."""


@dataclass(frozen=True)
class Viewer:
    """The person (by pseudonym) or a partner principal (party, covenant, roles)."""

    pseudonym: str | None = None
    party: str | None = None
    employee: str | None = None
    covenant: str | None = None
    roles: tuple[str, ...] = ()
    representative: str | None = None


class PeerRequestConflict(Conflict):
    slug = "peer-request-conflict"
    title = "This peer request id was already filed for another type or person"


@dataclass(frozen=True)
class Filed:
    """``forward_to``: (covenant, party) of every source the request goes to.

    ``purpose``: the purpose of the request's (first) case, else the covenant's
    first; a peer region is asked under it. ``repeated``: a peer's retry found
    the request it filed before (nothing is forwarded again).
    """

    view: RequestView
    forward_to: tuple[tuple[str, str], ...]
    purpose: str | None = None
    repeated: bool = False


def purpose_of(covenant: Covenant | None, cases: Sequence[Case]) -> str | None:
    if cases:
        return cases[0].purpose
    if covenant is None or not covenant.purposes:
        return None
    return covenant.purposes[0].id


def _participants(case: Case) -> set[str]:
    return {participant.party for participant in case.participants}


def _source_of(policy: CompiledPolicy, convenant: str, party: str, cases: Sequence[Case]) -> bool:
    """A party with a source in the covenant and, when cases are named, a participant of one."""
    found = policy.party(convenant, party)
    if found is None or found.source is None:
        return False
    return not cases or any(party in _participants(case) for case in cases)


def inzage_targets(
    session: Session, policy: CompiledPolicy, pseudonym: str, named: Sequence[Case]
) -> tuple[tuple[str, str], ...]:
    """Every party with a source in the covenant of each case (the named ones, else all).

    All the person's cases in any role (``case_ids_of``): a household member
    (``partner``, ``kind``) is as much a person concerned as the main person,
    and their inzage must reach the joint controllers of those cases too.
    All joint controllers (WGS), not only those that disclosed: a party may
    hold records about the person that it never shared. No one else: the
    BSN goes to no party outside the covenants of the person's cases. A peer region's
    gateway is none of them: under the WGS the contact point is per
    partnership, so the person asks the other region's own contact point.
    """
    covenants = {case.convenant for case in named}
    if not named:
        covenants = set(
            session.scalars(
                select(Case.convenant).where(Case.id.in_(case_ids_of(pseudonym))).distinct()
            )
        )
    targets: dict[str, str] = {}
    for convenant in sorted(covenants):
        covenant = policy.covenant(convenant)
        if covenant is None:
            continue
        for party_id in own_sources(covenant):
            targets.setdefault(party_id, convenant)
    return tuple(sorted((convenant, party) for party, convenant in targets.items()))


def _as_viewer(filer: Filer) -> Viewer:
    """The filer reading what it filed: the person, or a partner without the officer's role."""
    return Viewer(party=filer.party, covenant=filer.covenant)


def _now() -> datetime:
    return datetime.now(UTC)


def _end_of(day: date, fallback: datetime) -> datetime:
    """The end of a peer's deadline day (UTC); its own deadline binds when it is earlier."""
    try:
        return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    except (OverflowError, ValueError):
        return fallback


class RightsService:
    def __init__(
        self,
        policy: Callable[[], CompiledPolicy],
        pseudonymizer: Pseudonymizer,
        sealer: RequestSealer,
        audit: AuditAppender,
    ) -> None:
        self._policy = policy
        self._pseudonymizer = pseudonymizer
        self._sealer = sealer
        self._audit = audit

    @property
    def sealer(self) -> RequestSealer:
        return self._sealer

    def pseudonym(self, bsn: Bsn) -> str:
        return self._pseudonymizer.pseudonym(bsn)

    # --- filing -------------------------------------------------------------

    def file(self, session: Session, filer: Filer, application: Application) -> Filed:
        """Store a request; :class:`FilingRefused` (with the reason to log) if not allowed."""
        policy = self._policy()
        pseudonym = self.pseudonym(application.bsn)
        cases = self._named_cases(session, policy, filer, pseudonym, application.cases)
        convenant = self._covenant_for(session, policy, filer, pseudonym, cases)
        covenant = policy.covenant(convenant)
        if covenant is None:
            raise FilingRefused("covenant_unknown")
        if any(case.convenant != convenant for case in cases):
            raise FilingRefused("other_covenant")
        if filer.representative is not None and not covenant.rights.representative_may(
            filer.representative, application.type
        ):
            raise FilingRefused("representative_not_allowed")
        if application.source is not None and not _source_of(
            policy, convenant, application.source, cases
        ):
            raise FilingRefused("source_not_in_case")
        responsible = covenant.controller
        if application.type == "correctie" and application.source is not None:
            responsible = application.source
        now = _now()
        row = RightsRequest(
            id=new_request_id(),
            type=application.type,
            convenant=convenant,
            subject_pseudonym=pseudonym,
            status="pending",
            channel=filer.channel,
            filed_by_party=filer.party,
            filed_by_employee=filer.employee,
            responsible_party=responsible,
            source_party=application.source,
            cases_json=json.dumps([case.id for case in cases]),
            records_json=json.dumps(list(application.records)),
            details_sealed="",
            received_at=now,
            deadline=deadline_for(covenant, application.type, now),
            forwarded_json="[]",
            covenants_json=self._own_verzet_covenants(
                session, filer, application, row_of=convenant, cases=cases, pseudonym=pseudonym
            ),
            representative=filer.representative,
        )
        self._record_filing(session, policy, row, filer, pseudonym, application.details)
        if row.type == "inzage":
            targets = inzage_targets(session, policy, pseudonym, cases)
        else:
            targets = tuple((row.convenant, p) for p in self._forward_targets(policy, row, cases))
        view = self.seen_by(_as_viewer(filer), row, view_of(session, self._sealer, row))
        return Filed(view, targets, purpose_of(covenant, cases))

    def file_for_peer(self, session: Session, filer: Filer, application: Application) -> Filed:
        """A peer region's correctie/verzet, filed here as the peer party's request.

        Idempotent per (peer party, peer request id): a retry gets the request
        filed before (``repeated``), and nothing is forwarded again. It
        concerns the person's cases here in which the peer takes part (none:
        refused, as a partner naming no case of its own would be), and goes
        to our own sources only (``gateway/rights/peers.py``: one hop).
        """
        assert filer.party is not None and filer.covenant is not None
        assert filer.peer_request is not None and application.type != "inzage"
        policy = self._policy()
        pseudonym = self.pseudonym(application.bsn)
        before = session.scalar(
            select(RightsRequest).where(
                RightsRequest.filed_by_party == filer.party,
                RightsRequest.peer_request == filer.peer_request,
            )
        )
        if before is not None:
            if (before.type, before.subject_pseudonym, before.convenant) != (
                application.type,
                pseudonym,
                filer.covenant,
            ):
                raise PeerRequestConflict()
            return Filed(view_of(session, self._sealer, before), (), repeated=True)
        covenant = policy.covenant(filer.covenant)
        if covenant is None:
            raise FilingRefused("covenant_unknown")
        cases = peer_cases(session, pseudonym, filer.covenant, filer.party)
        if not cases:
            raise FilingRefused("not_participant")
        source, records = local_records(covenant, application.records)
        responsible = covenant.controller
        if application.type == "correctie" and source is not None:
            responsible = source
        now = _now()
        deadline = deadline_for(covenant, application.type, now)
        row = RightsRequest(
            id=new_request_id(),
            type=application.type,
            convenant=filer.covenant,
            subject_pseudonym=pseudonym,
            status="pending",
            channel=filer.channel,
            filed_by_party=filer.party,
            filed_by_employee=filer.employee,
            responsible_party=responsible,
            source_party=source,
            cases_json=json.dumps([case.id for case in cases]),
            records_json=json.dumps(list(records)),
            details_sealed="",
            received_at=now,
            deadline=min(deadline, _end_of(application.deadline, deadline))
            if application.deadline is not None
            else deadline,
            forwarded_json="[]",
            peer_request=filer.peer_request,
        )
        self._record_filing(session, policy, row, filer, pseudonym, application.details)
        targets = tuple((row.convenant, p) for p in peer_targets(covenant, cases, source))
        return Filed(view_of(session, self._sealer, row), targets, purpose_of(covenant, cases))

    def _record_filing(
        self,
        session: Session,
        policy: CompiledPolicy,
        row: RightsRequest,
        filer: Filer,
        pseudonym: str,
        details: str,
    ) -> None:
        """Log the filing (without its text), seal the text under the person's key, store."""
        view = view_of(session, self._sealer, row, with_text=False)
        self._log(session, policy, view, "filed", filer.party, filer.employee)
        row.details_sealed = self._sealer.seal(session, pseudonym, row.id, "details", details)
        session.add(row)
        session.flush()

    @staticmethod
    def _own_verzet_covenants(
        session: Session,
        filer: Filer,
        application: Application,
        *,
        row_of: str,
        cases: Sequence[Case],
        pseudonym: str,
    ) -> str | None:
        """The person's own verzet naming no case objects in every covenant they are known under.

        The person objects to the partnership, not to one covenant (the ZVH is
        one contact point for all joint controllers, WGS/BGS art. 1.1). Recorded
        so that each covenant's privacy officer sees the request; the
        restriction itself covers every case of the person, also one opened
        later (``gateway/rights/objections.py``). A partner's filing always
        names cases and stays within its token's covenant: ``None``.
        """
        if filer.party is not None or application.type != "verzet" or cases:
            return None
        known = session.scalars(
            select(Case.convenant).where(Case.id.in_(case_ids_of(pseudonym))).distinct()
        )
        return json.dumps(sorted({row_of, *known}))

    def _named_cases(
        self,
        session: Session,
        policy: CompiledPolicy,
        filer: Filer,
        pseudonym: str,
        case_ids: Sequence[str],
    ) -> list[Case]:
        """The named cases, if this filer may file for this person about them.

        A partner must name at least one case, each in its token's covenant and
        with it as participant; everyone's named cases must be about the person.
        The checks that do not depend on the BSN come first, but the caller
        answers every refusal alike, so their order reveals nothing.
        """
        if filer.party is not None:
            assert filer.covenant is not None
            if policy.party(filer.covenant, filer.party) is None:
                raise FilingRefused("not_covenant_party")
            covenant = policy.covenant(filer.covenant)
            if covenant is not None and is_peer(covenant, filer.party):
                # A peer files at /v1/federation/rights-requests only (one hop, no
                # inzage): here its self-opened mirror case would let it file an
                # inzage for anyone and read each source's record count.
                raise FilingRefused("peer_gateway")
            if not case_ids:
                raise FilingRefused("no_case_named")
        wanted = list(dict.fromkeys(case_ids))
        if not wanted:
            return []
        found = list(session.scalars(select(Case).where(Case.id.in_(wanted))))
        if len(found) != len(wanted):
            raise FilingRefused("case_unknown")
        if filer.party is not None:
            if any(case.convenant != filer.covenant for case in found):
                raise FilingRefused("other_covenant")
            if any(filer.party not in _participants(case) for case in found):
                raise FilingRefused("not_participant")
        concerning = set(session.scalars(case_ids_of(pseudonym)))
        if any(case.id not in concerning for case in found):
            raise FilingRefused("subject_mismatch")
        return found

    def _covenant_for(
        self,
        session: Session,
        policy: CompiledPolicy,
        filer: Filer,
        pseudonym: str,
        cases: Sequence[Case],
    ) -> str:
        """The partner's token covenant; for the person, the covenant of their cases."""
        if filer.party is not None:
            assert filer.covenant is not None
            return filer.covenant
        if cases:
            return cases[0].convenant
        latest = session.scalar(
            select(Case.convenant)
            .where(Case.id.in_(case_ids_of(pseudonym)))
            .order_by(Case.created_at.desc())
            .limit(1)
        )
        if latest is not None:
            return latest
        if len(policy.covenants) == 1:
            return next(iter(policy.covenants))
        raise FilingRefused("covenant_ambiguous")

    def log_refusal(
        self, session: Session, filer: Filer, application: Application | None, reason: str
    ) -> None:
        """The audit entry of a refused filing (no subject: see ``gateway/rights/refusals``)."""
        event = refusal_event(
            action="file",
            reason=reason,
            party=filer.party,
            employee=filer.employee,
            covenant=filer.covenant,
            request_type=application.type if application is not None else None,
            channel=filer.channel,
            cases=application.cases if application is not None else (),
        )
        self._audit.append_in(session, [event])

    def log_denied(
        self, session: Session, actor: Viewer, action: str, request_id: str, reason: str
    ) -> None:
        """The audit entry of a refused read or decision of a request."""
        event = refusal_event(
            action=action,
            reason=reason,
            party=actor.party,
            employee=actor.employee,
            covenant=actor.covenant,
            channel="portal" if actor.party is None else "partner",
            request_id=request_id,
            representative=actor.representative,
        )
        self._audit.append_in(session, [event])

    def _forward_targets(
        self, policy: CompiledPolicy, row: RightsRequest, cases: Sequence[Case]
    ) -> tuple[str, ...]:
        """Sources concerned: the named source, else the case participants that hold a source."""
        if row.type == "inzage":
            return ()
        covenant = policy.covenant(row.convenant)
        if covenant is None:
            return ()
        if row.source_party is not None:
            candidates = [row.source_party]
        else:
            candidates = sorted({p.party for case in cases for p in case.participants})
        if row.channel == "peer":  # one hop: a peer's request never goes on to a peer
            return own_sources(covenant, candidates)
        return tuple(
            party
            for party in candidates
            if (found := covenant.party(party)) is not None and found.source is not None
        )

    def record_forwarding(
        self,
        session: Session,
        request_id: str,
        outcomes: Sequence[tuple[str, Forwarding]],
        filer: Filer,
    ) -> RequestView:
        """Store each source's forwarding outcome; for an inzage also its (sealed) answer."""
        row = self._load(session, request_id, lock=True)
        done = json.loads(row.forwarded_json) + [item.as_json() for _, item in outcomes]
        row.forwarded_json = json.dumps(done)
        now = _now()
        if row.type == "inzage":
            for convenant, item in outcomes:
                source = RequestSource(
                    request_id=row.id,
                    party=item.party,
                    convenant=convenant,
                    forwarding=item.status,
                    sent_at=now,
                )
                if item.records is not None:
                    records = [record_json(record) for record in item.records]
                    source.answered_at = now
                    source.record_count = len(records)
                    source.records_sealed = seal_records(
                        self._sealer, session, row, item.party, records
                    )
                session.add(source)
            session.flush()
        view = view_of(session, self._sealer, row, with_text=False)
        policy = self._policy()
        for _, item in outcomes:
            self._log(
                session,
                policy,
                view,
                f"forward_{item.status}",
                filer.party,
                filer.employee,
                source=item.party,
                reason=item.reason,
            )
            if item.records is not None:
                self._log(
                    session,
                    policy,
                    view,
                    "source_answered",
                    item.party,
                    None,
                    source=item.party,
                    records=len(item.records),
                )
        session.flush()
        return self.seen_by(_as_viewer(filer), row, view_of(session, self._sealer, row))

    def record_peer_outcome(
        self,
        session: Session,
        request_id: str,
        party: str,
        peer_request: str,
        *,
        status: str,
        decided_at: str | None,
        executed_at: str | None,
        synced_at: str | None,
    ) -> bool:
        """Store a peer's status on our forwarding to it; log it when it changed.

        The row is locked and compared inside the transaction, so two
        instances pulling at once log a change once.
        """
        row = self._load(session, request_id, lock=True)
        entries = json.loads(row.forwarded_json)
        changed = False
        for entry in entries:
            if entry.get("party") != party or entry.get("peer_request") != peer_request:
                continue
            new = {"outcome": status, "outcome_at": decided_at, "executed_at": executed_at}
            if any(entry.get(key) != value for key, value in new.items()):
                changed = True
                entry.update({key: value for key, value in new.items() if value is not None})
                entry["synced_at"] = synced_at  # when this outcome was pulled
        if not changed:
            return False
        row.forwarded_json = json.dumps(entries)
        view = view_of(session, self._sealer, row, with_text=False)
        self._log(
            session,
            self._policy(),
            view,
            "peer_outcome",
            None,
            None,
            source=party,
            reason=status,
            extra={"peer_request": peer_request, "peer_executed": executed_at is not None},
        )
        session.flush()
        return True

    # --- reading --------------------------------------------------------------

    def _load(self, session: Session, request_id: str, *, lock: bool = False) -> RightsRequest:
        query = select(RightsRequest).where(RightsRequest.id == request_id)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFound(detail="No such rights request.")
        return row

    @staticmethod
    def may_read(viewer: Viewer, row: RightsRequest) -> bool:
        if viewer.pseudonym is not None:
            return viewer.pseudonym == row.subject_pseudonym
        if viewer.party is None or viewer.covenant not in row.covenants:
            return False
        if PRIVACY_OFFICER in viewer.roles:
            return True  # the officer of every covenant a person's own verzet covers
        if viewer.covenant != row.convenant:
            return False
        return viewer.party in (row.filed_by_party, row.responsible_party, row.source_party)

    def seen_by(self, viewer: Viewer, row: RightsRequest, view: RequestView) -> RequestView:
        """What ``viewer`` may see of an inzage's sources (``views.for_parties``).

        All of them: the person (or their representative). The privacy officer
        of a covenant the request concerns: its own covenant's parties. Any other
        partner: its own entry only — who holds records about the person is not
        its business.
        """
        if viewer.party is None:
            return view
        if PRIVACY_OFFICER in viewer.roles and viewer.covenant in row.covenants:
            covenant = self._policy().covenant(viewer.covenant or "")
            parties = {party.id for party in covenant.parties} if covenant is not None else set()
            return for_parties(view, parties)
        return for_parties(view, {viewer.party})

    def get(self, session: Session, viewer: Viewer, request_id: str) -> RequestView:
        """Unknown and not-yours look the same (404): ids confirm nothing to outsiders."""
        row = self._load(session, request_id)
        if not self.may_read(viewer, row):
            raise NotFound(detail="No such rights request.")
        view = view_of(session, self._sealer, row)
        if viewer.party is not None:
            self._log(session, self._policy(), view, "viewed", viewer.party, viewer.employee)
        return self.seen_by(viewer, row, view)

    def peer_status(self, session: Session, reader: Filer, request_id: str) -> RequestView:
        """A peer's own request, for that peer only; any other caller: 404 (no oracle)."""
        row = session.scalar(select(RightsRequest).where(RightsRequest.id == request_id))
        if (
            row is None
            or row.peer_request is None
            or row.filed_by_party != reader.party
            or row.convenant != reader.covenant
        ):
            raise NotFound(detail="No such rights request.")
        view = view_of(session, self._sealer, row, with_text=False)
        self._log(session, self._policy(), view, "viewed", reader.party, reader.employee)
        return view

    def for_subject(self, session: Session, pseudonym: str) -> list[RequestView]:
        rows = session.scalars(
            select(RightsRequest)
            .where(RightsRequest.subject_pseudonym == pseudonym)
            .order_by(RightsRequest.received_at.desc())
        )
        return [view_of(session, self._sealer, row) for row in rows]

    def open_requests(
        self, session: Session, *, convenant: str | None, due_before: datetime | None
    ) -> list[RequestView]:
        """Undecided requests (deadline first), without their sealed text."""
        query = select(RightsRequest).where(RightsRequest.status == "pending")
        if convenant is not None:
            query = query.where(
                or_(
                    RightsRequest.convenant == convenant,
                    RightsRequest.covenants_json.contains(json.dumps(convenant), autoescape=True),
                )
            )
        if due_before is not None:
            query = query.where(RightsRequest.deadline < due_before)
        rows = session.scalars(query.order_by(RightsRequest.deadline))
        return [view_of(session, self._sealer, row, with_text=False) for row in rows]

    # --- deciding ---------------------------------------------------------------

    def decide(
        self,
        session: Session,
        actor: Viewer,
        request_id: str,
        decision: RightsDecision,
        reason: str,
    ) -> RequestView:
        row = self._load(session, request_id, lock=True)
        if not self.may_read(actor, row):  # like ``get``: an id confirms nothing to outsiders
            raise NotFound(detail="No such rights request.")
        if actor.covenant != row.convenant or actor.party != row.responsible_party:
            raise NotResponsible(extensions={"responsible_party": row.responsible_party})
        if row.status != "pending":
            raise AlreadyDecided()
        row.status = decision
        row.decided_at = _now()
        if row.type == "correctie" and decision in GRANTED:
            covenant = self._policy().covenant(row.convenant)
            term = covenant.rights.correctie_execution if covenant is not None else None
            row.execute_by = (term or parse_duration("P14D")).add_to(row.decided_at)
        row.decided_by_party = actor.party
        row.decided_by_employee = actor.employee
        view = view_of(session, self._sealer, row, with_text=False)
        self._log(session, self._policy(), view, decision, actor.party, actor.employee)
        row.decision_reason_sealed = self._sealer.seal(
            session, row.subject_pseudonym, row.id, "reason", reason
        )
        self._drop_corrected_copies(session, row)
        session.flush()
        return self.seen_by(actor, row, view_of(session, self._sealer, row))

    # --- extension, withdrawal, answers, execution -----------------------------------

    def _may_act(self, actor: Viewer, row: RightsRequest) -> bool:
        """The responsible party, or the privacy officer of the request's covenant."""
        if actor.covenant != row.convenant or actor.party is None:
            return False
        return actor.party == row.responsible_party or PRIVACY_OFFICER in actor.roles

    def extend(
        self, session: Session, actor: Viewer, request_id: str, until: date, reason: str
    ) -> RequestView:
        row = self._load(session, request_id, lock=True)
        if not self.may_read(actor, row):
            raise NotFound(detail="No such rights request.")
        if not self._may_act(actor, row):
            raise NotResponsible(extensions={"responsible_party": row.responsible_party})
        policy = self._policy()
        now = _now()
        new_deadline = check_extension(row, policy.covenant(row.convenant), until, now)
        row.first_deadline = row.deadline
        row.deadline = new_deadline
        row.extended_at = now
        row.extended_by_party = actor.party
        row.extension_reason_sealed = self._sealer.seal(
            session, row.subject_pseudonym, row.id, "extension", reason
        )
        session.flush()
        view = view_of(session, self._sealer, row, with_text=False)
        self._log(session, policy, view, "extended", actor.party, actor.employee)
        return self.seen_by(actor, row, view_of(session, self._sealer, row))

    def withdraw(self, session: Session, actor: Viewer, request_id: str) -> RequestView:
        """By the person (or their representative); others get the same 404 as for a stranger.

        A representative withdraws only a type it may file
        (``rights.representatives`` of every covenant the request concerns):
        withdrawing a verzet lifts the person's objection, which a mandate for
        inzage alone does not cover. Refused like a filing
        (:class:`FilingRefused`, reason ``representative_not_allowed``).
        """
        row = self._load(session, request_id, lock=True)
        if actor.pseudonym is None or actor.pseudonym != row.subject_pseudonym:
            raise NotFound(detail="No such rights request.")
        if actor.representative is not None and not self._representative_may(
            actor.representative, row
        ):
            raise FilingRefused("representative_not_allowed")
        if row.status != "pending":
            raise NotPending()
        now = _now()
        row.status = "withdrawn"
        row.withdrawn_at = now
        row.decided_at = now  # closes it: retention counts from here like from a decision
        session.flush()
        view = view_of(session, self._sealer, row, with_text=False)
        self._log_person(session, view, "withdrawn", actor)
        return view_of(session, self._sealer, row)

    def _representative_may(self, relation: str, row: RightsRequest) -> bool:
        """Whether every covenant the request concerns allows it (unknown covenant: no).

        A person's own verzet covers several covenants; withdrawing it lifts it in each.
        """
        policy = self._policy()
        for convenant in row.covenants:
            covenant = policy.covenant(convenant)
            if covenant is None or not covenant.rights.representative_may(relation, row.type):
                return False
        return True

    def answer(
        self,
        session: Session,
        actor: Viewer,
        request_id: str,
        records: Sequence[dict[str, Any]],
    ) -> RequestView:
        """A joint controller's inzage answer: only a source the request was sent to, once."""
        row = self._load(session, request_id, lock=True)
        source = session.get(RequestSource, (request_id, actor.party or ""))
        if row.type != "inzage" or source is None or source.convenant != actor.covenant:
            raise NotFound(detail="No such rights request.")
        if source.answered_at is not None or row.status == "withdrawn":
            raise AnswerRefused()
        now = _now()
        source.answered_at = now
        source.record_count = len(records)
        source.records_sealed = seal_records(self._sealer, session, row, source.party, records)
        session.flush()
        view = view_of(session, self._sealer, row, with_text=False)
        late = now > row.deadline
        self._log(
            session,
            self._policy(),
            view,
            "source_answered",
            actor.party,
            actor.employee,
            source=source.party,
            reason="late" if late else None,
            records=len(records),
        )
        return self.seen_by(actor, row, view_of(session, self._sealer, row))

    def executed(self, session: Session, actor: Viewer, request_id: str) -> RequestView:
        """The source party reports a granted correctie carried out (by ``execute_by``)."""
        row = self._load(session, request_id, lock=True)
        if not self.may_read(actor, row):
            raise NotFound(detail="No such rights request.")
        owner = row.source_party or row.responsible_party
        if actor.covenant != row.convenant or actor.party != owner:
            raise NotResponsible(extensions={"responsible_party": owner})
        if row.type != "correctie" or row.status not in GRANTED or row.executed_at is not None:
            raise ExecutionRefused()
        row.executed_at = _now()
        self._drop_corrected_copies(session, row, outcome="correctie_executed")
        session.flush()
        view = view_of(session, self._sealer, row, with_text=False)
        late = row.execute_by is not None and row.executed_at > row.execute_by
        self._log(
            session,
            self._policy(),
            view,
            "executed",
            actor.party,
            actor.employee,
            reason="late" if late else None,
        )
        return self.seen_by(actor, row, view_of(session, self._sealer, row))

    def _log_person(self, session: Session, view: RequestView, outcome: str, actor: Viewer) -> None:
        self._log(
            session, self._policy(), view, outcome, None, None, representative=actor.representative
        )

    def _drop_corrected_copies(
        self, session: Session, row: RightsRequest, outcome: str = "correctie_granted"
    ) -> None:
        """A granted correctie makes the gateway's copies stale: gone in the same transaction.

        Logged like a source deletion (``kind=deletion``), naming no record and no subject.
        Done again when the source reports it carried out: a copy fetched between
        the decision and the execution still held the old value.
        """
        if row.type != "correctie" or row.status not in GRANTED:
            return
        gone = drop_corrected_copies(session, row)
        event = AuditEvent(
            kind="deletion",
            outcome=outcome,
            party=row.decided_by_party,
            convenant=row.convenant,
            source=row.source_party,
            reason=outcome,
            records=gone,
            details={"request": row.id, "records_named": len(row.records)},
        )
        self._audit.append_in(session, [event])

    def _log(
        self,
        session: Session,
        policy: CompiledPolicy,
        view: RequestView,
        outcome: str,
        party: str | None,
        employee: str | None,
        *,
        source: str | None = None,
        reason: str | None = None,
        records: int | None = None,
        representative: str | None = None,
        extra: Mapping[str, DetailValue] | None = None,
    ) -> None:
        event = rights_event(
            view,
            outcome,
            party=party,
            employee=employee,
            covenant_version=policy.covenant_version(view.convenant),
            source=source,
            reason=reason,
            records=records,
            representative=representative,
            extra=extra,
        )
        self._audit.append_in(session, [event])
