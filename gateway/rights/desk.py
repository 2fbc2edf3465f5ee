"""The single intake desk (WGS/BGS art. 1.1): what the API and the portal both call.

Filing is three steps, so that no database transaction waits on a source:
store the request and its log entry; forward it to the sources concerned
(while the BSN is still in memory, so it is never stored); record and log
each source's outcome. Database work runs in worker threads.

A refused step (filing, decision, a partner's read) is logged in a
transaction of its own, since the refused one rolls back; a refused filing
then gets the one uniform answer of ``gateway/rights/refusals.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NoReturn

import anyio
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors import ForwardedRightsRequest
from connectors.models import RightsRequestOrigin
from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent, DetailValue
from gateway.audit.subject_keys import SubjectVault
from gateway.cases.models import Case, case_ids_of
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Problem
from gateway.rights.answers import SourceAnswers, person_answers
from gateway.rights.forwarding import Forwarder
from gateway.rights.inzage import Inzage, assemble_inzage
from gateway.rights.models import PartnerWithholding
from gateway.rights.notices import Notice, NoticeStatement, record_notice
from gateway.rights.refusals import FilingRefused, uniform_refusal
from gateway.rights.service import (
    Application,
    Filed,
    Filer,
    RightsDecision,
    RightsService,
    Viewer,
)
from gateway.rights.views import Forwarding, RequestView
from gateway.rights.withholding import record_partner_withholding
from gateway.storage.db import Database
from gateway.subjects.bsn import Bsn


@dataclass(frozen=True)
class CaseChoice:
    id: str
    convenant: str
    phase: str
    status: str
    created_at: datetime


class RightsDesk:
    def __init__(
        self,
        db: Database,
        service: RightsService,
        forwarder: Forwarder,
        vault: SubjectVault,
        policy: Callable[[], CompiledPolicy],
        audit: AuditAppender,
    ) -> None:
        self.db = db
        self.service = service
        self._forwarder = forwarder
        self._vault = vault
        self._policy = policy
        self._audit = audit

    async def file(self, filer: Filer, application: Application) -> RequestView:
        filed = await anyio.to_thread.run_sync(self._file, filer, application)
        if not filed.forward_to:
            return filed.view
        view = filed.view
        outcomes = await self._forward(filed, application)
        return await anyio.to_thread.run_sync(self._record, view.id, outcomes, filer)

    async def file_for_peer(self, filer: Filer, application: Application) -> Filed:
        """A peer region's correctie/verzet: filed once per peer request, then forwarded.

        A repeat (the peer retried) returns the request filed before and
        forwards nothing. Forwarded to our own sources only, with origin
        ``peer``, so no connector passes it on to another region.
        """
        filed = await anyio.to_thread.run_sync(self._file_for_peer, filer, application)
        if filed.repeated or not filed.forward_to:
            return filed
        outcomes = await self._forward(filed, application, origin="peer")
        view = await anyio.to_thread.run_sync(self._record, filed.view.id, outcomes, filer)
        return Filed(view, filed.forward_to, filed.purpose)

    def _file_for_peer(self, filer: Filer, application: Application) -> Filed:
        try:
            try:
                with self.db.session() as session:
                    return self.service.file_for_peer(session, filer, application)
            except IntegrityError:  # a concurrent retry filed it first: that one counts
                with self.db.session() as session:
                    return self.service.file_for_peer(session, filer, application)
        except FilingRefused as refused:
            self._log_refusal(filer, application, refused.reason)
            raise uniform_refusal() from None

    def peer_status(self, reader: Filer, request_id: str) -> RequestView:
        """The peer's own request (404 for anyone else); reading it, or the refusal, is logged."""
        try:
            with self.db.session() as session:
                return self.service.peer_status(session, reader, request_id)
        except Problem as refused:
            actor = Viewer(party=reader.party, employee=reader.employee, covenant=reader.covenant)
            self._log_denied(actor, "peer_read", request_id, refused)
            raise

    async def _forward(
        self, filed: Filed, application: Application, *, origin: RightsRequestOrigin = "local"
    ) -> list[tuple[str, Forwarding]]:
        view = filed.view
        request = ForwardedRightsRequest(
            id=view.id,
            type=application.type,
            subject=application.bsn,
            records=tuple(view.records),
            details=application.details,
            deadline=view.deadline.date(),
            convenant=view.convenant,
            purpose=filed.purpose,
            origin=origin,
        )
        by_covenant: dict[str, list[str]] = {}
        for convenant, party in filed.forward_to:
            by_covenant.setdefault(convenant, []).append(party)
        outcomes: list[tuple[str, Forwarding]] = []
        for convenant, parties in by_covenant.items():
            done = await self._forwarder.forward(convenant, parties, request)
            outcomes.extend((convenant, item) for item in done)
        return outcomes

    def _file(self, filer: Filer, application: Application) -> Filed:
        try:
            with self.db.session() as session:
                return self.service.file(session, filer, application)
        except FilingRefused as refused:
            self._log_refusal(filer, application, refused.reason)
            raise uniform_refusal() from None

    def _log_refusal(self, filer: Filer, application: Application | None, reason: str) -> None:
        with self.db.session() as session:
            self.service.log_refusal(session, filer, application, reason)

    async def refuse(self, filer: Filer, reason: str, problem: Problem) -> NoReturn:
        """Log a filing refused before it reached the service (bad subject, CSRF), then raise."""
        await anyio.to_thread.run_sync(self._log_refusal, filer, None, reason)
        raise problem

    def _record(
        self, request_id: str, outcomes: list[tuple[str, Forwarding]], filer: Filer
    ) -> RequestView:
        with self.db.session() as session:
            return self.service.record_forwarding(session, request_id, outcomes, filer)

    def get(self, viewer: Viewer, request_id: str) -> RequestView:
        try:
            with self.db.session() as session:
                return self.service.get(session, viewer, request_id)
        except Problem as refused:
            if viewer.party is not None:  # a partner; the person's own misses log nothing
                self._log_denied(viewer, "read", request_id, refused)
            raise

    def decide(
        self, actor: Viewer, request_id: str, decision: RightsDecision, reason: str
    ) -> RequestView:
        try:
            with self.db.session() as session:
                return self.service.decide(session, actor, request_id, decision, reason)
        except Problem as refused:
            self._log_denied(actor, "decide", request_id, refused)
            raise

    def extend(self, actor: Viewer, request_id: str, until: date, reason: str) -> RequestView:
        return self._step(actor, "extend", request_id, self.service.extend, until, reason)

    def withdraw(self, actor: Viewer, request_id: str) -> RequestView:
        """A representative without the right gets the filing's uniform refusal (logged)."""
        try:
            return self._step(actor, "withdraw", request_id, self.service.withdraw)
        except FilingRefused as refused:
            with self.db.session() as session:
                self.service.log_denied(session, actor, "withdraw", request_id, refused.reason)
            raise uniform_refusal() from None

    def answer(
        self, actor: Viewer, request_id: str, records: Sequence[dict[str, Any]]
    ) -> RequestView:
        return self._step(actor, "answer", request_id, self.service.answer, records)

    def executed(self, actor: Viewer, request_id: str) -> RequestView:
        return self._step(actor, "executed", request_id, self.service.executed)

    def _step(
        self,
        actor: Viewer,
        action: str,
        request_id: str,
        step: Callable[..., RequestView],
        *args: object,
    ) -> RequestView:
        """One step in its own transaction; a refusal is logged in another (it rolled back)."""
        try:
            with self.db.session() as session:
                return step(session, actor, request_id, *args)
        except Problem as refused:
            self._log_denied(actor, action, request_id, refused)
            raise

    def withhold(
        self,
        actor: Viewer,
        case_id: str,
        category: str,
        ground: str,
        until: date,
        subject: str = "s1",
    ) -> PartnerWithholding:
        """A source party limits the inzage of its own disclosures (UAVG art. 41) about
        one subject of the case (``s1`` the hoofdpersoon, ``s2``… a household member)."""
        assert actor.party is not None and actor.covenant is not None
        try:
            with self.db.session() as session:
                row, event = record_partner_withholding(
                    session,
                    self._policy(),
                    party=actor.party,
                    employee=actor.employee,
                    covenant=actor.covenant,
                    case_id=case_id,
                    category=category,
                    ground=ground,
                    until=until,
                    subject=subject,
                )
                self._audit.append_in(session, [event])
                session.expunge(row)
                return row
        except Problem as refused:
            self._log_denied(actor, "withhold", "", refused)
            raise

    def notice(self, actor: Viewer, case_id: str, statement: NoticeStatement) -> Notice:
        """Record the informatieplicht for one subject of a case (a participant only)."""
        assert actor.party is not None and actor.covenant is not None
        try:
            with self.db.session() as session:
                row, event = record_notice(
                    session,
                    case_id=case_id,
                    party=actor.party,
                    employee=actor.employee,
                    covenant=actor.covenant,
                    statement=statement,
                )
                self._audit.append_in(session, [event])
                session.expunge(row)
                return row
        except Problem as refused:
            self._log_denied(actor, "notice", "", refused)
            raise

    def source_answers(self, bsn: Bsn) -> list[SourceAnswers]:
        """The person's inzage answers per source (opened), newest request first."""
        pseudonym = self.service.pseudonym(bsn)
        with self.db.session() as session:
            return person_answers(session, self.service.sealer, pseudonym)

    def _log_denied(self, actor: Viewer, action: str, request_id: str, problem: Problem) -> None:
        with self.db.session() as session:
            self.service.log_denied(session, actor, action, request_id, problem.slug)

    def requests_of(self, bsn: Bsn) -> list[RequestView]:
        with self.db.session() as session:
            return self.service.for_subject(session, self.service.pseudonym(bsn))

    def open_requests(
        self, convenant: str | None, due_before: datetime | None
    ) -> list[RequestView]:
        with self.db.session() as session:
            return self.service.open_requests(session, convenant=convenant, due_before=due_before)

    def cases_of(self, bsn: Bsn) -> list[CaseChoice]:
        """The person's own cases, so they can name them in a verzet."""
        pseudonym = self.service.pseudonym(bsn)
        with self.db.session() as session:
            rows = session.execute(
                select(Case.id, Case.convenant, Case.phase, Case.status, Case.created_at)
                .where(Case.id.in_(case_ids_of(pseudonym)))
                .order_by(Case.created_at.desc())
            ).all()
        return [CaseChoice(*row) for row in rows]

    def representative_may(self, bsn: Bsn, relation: str | None, right: str) -> bool:
        """The person: always. A representative: what every covenant of the person's cases allows.

        With no case known, every loaded covenant must allow it (fail closed).
        Here, below both HTTP doors, so the API and /mijn decide it alike.
        """
        if relation is None:
            return True
        policy = self._policy()
        covenants = {case.convenant for case in self.cases_of(bsn)} or set(policy.covenants)
        for convenant in covenants:
            covenant = policy.covenant(convenant)
            if covenant is None or not covenant.rights.representative_may(relation, right):
                return False
        return True

    def inzage(
        self,
        bsn: Bsn,
        channel: str,
        *,
        representative: str | None = None,
        before: int | None = None,
    ) -> Inzage:
        """The person's disclosures; showing them is itself logged (under their key).

        ``before`` pages the itemised list to older entries (``next_before`` of
        the previous answer); the summary always accounts for all of them.
        """
        pseudonym = self.service.pseudonym(bsn)
        with self.db.session() as session:
            found = assemble_inzage(
                session,
                self._vault,
                self._policy(),
                pseudonym,
                datetime.now(UTC).date(),
                before=before,
            )
            self._log_inzage(session, pseudonym, found, channel, representative)
        return found

    def _log_inzage(
        self,
        session: Session,
        pseudonym: str,
        found: Inzage,
        channel: str,
        representative: str | None,
    ) -> None:
        details: dict[str, DetailValue] = {"channel": channel, "withheld": found.withheld_count}
        if representative is not None:
            details["representative"] = representative
        event = AuditEvent(
            kind="rights",
            outcome="inzage_shown",
            subject_pseudonym=pseudonym,
            subject_scope="subject",
            records=found.total,
            details=details,
        )
        self._audit.append_in(session, [event])
