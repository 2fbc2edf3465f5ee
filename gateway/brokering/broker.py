"""One need-to-know query, from decision to logged answer (ARCHITECTURE.md, "Flow").

Order matters for the promises: decisions come from the compiled covenant
(deny by default), only permitted categories are asked of a source, what
comes back is minimised, and every decision and disclosure is appended to the
audit log and durably committed *before* anything is returned. If that append
fails, the caller gets 503 and nothing (promise 5).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol

from opentelemetry import trace
from sqlalchemy.orm import Session

from connectors import (
    ConnectorConfigError,
    LookupRequest,
    LookupResult,
    Requester,
    RestConnector,
    SourceUnavailable,
    UnsupportedSourceError,
)
from gateway import offload
from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent
from gateway.brokering.audit_events import consent_requested_event, query_events
from gateway.brokering.copying import keep_copies, serve_copies
from gateway.brokering.known_ids import check_known_ids
from gateway.brokering.minimise import Minimised, minimise
from gateway.brokering.motivation import check_motivation
from gateway.brokering.registry import ConnectorRegistry
from gateway.brokering.results import CopyEffect, SourceResult
from gateway.cases.service import Actor, CaseRecord, CaseService
from gateway.consent.service import ConsentStanding, Motivation
from gateway.copies import CopyStore
from gateway.grounds.service import in_force
from gateway.grounds.subjects import MAIN_SUBJECT
from gateway.policy.compiled import CompiledCovenant, CompiledPolicy
from gateway.policy.decision import Decider, Decision, Outcome, Reason, RecordedGround
from gateway.spans import CurrentSpan
from gateway.storage.commit_ahead import commit_with_last
from gateway.storage.db import Database
from gateway.storage.reads import Read, read_together
from gateway.subjects.bsn import Bsn, random_id
from gateway.telemetry import trace_ids

TRACER = "ketenpoort.brokering"
tracer = trace.get_tracer(TRACER)
log = logging.getLogger("ketenpoort.brokering")


def _needs_grounds(
    compiled: CompiledCovenant, actor: Actor, case: CaseRecord, categories: Sequence[str]
) -> bool:
    """Whether any decision of this query can ask for a recorded legal ground.

    ``decide`` reads the grounds only where the covenant requires one for (purpose,
    requester, source, category) in the case's phase; when no requested category
    can, the grounds are not read (one statement fewer on most queries).
    """
    by_category = compiled.ground_phases.get((actor.purpose, actor.party))
    if not by_category:
        return False
    for category in categories:  # a loop, not any(<generator>): this runs per query
        phases = by_category.get(category)
        if phases is not None and case.phase in phases:
            return True
    return False


class ConsentPort(Protocol):
    """The OvJ consent register, as the broker needs it (promise 3)."""

    def standing(
        self, session: Session, *, case_id: str, subject_ref: str, recipient: str, today: date
    ) -> ConsentStanding:
        """Every request of (case, subject, recipient): coverage and standing refusals."""

    def standing_read(
        self, *, case_id: str, subject_ref: str, recipient: str, today: date
    ) -> Read[ConsentStanding]:
        """:meth:`standing` as a read to send with others."""

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
        subject_ref: str = MAIN_SUBJECT,
    ) -> tuple[str, bool]:
        """Create or reuse the open consent request; returns its id and whether it is new."""

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
        """Until when this disclosure is withheld from inzage; a peer's is recorded here.

        The second day is that of a peer's withholding recorded by this call (else ``None``).
        """


class ObjectionPort(Protocol):
    """Pending or granted *verzet* (promise 1, POLICY.md condition 6)."""

    def active(self, session: Session, *, subject_pseudonym: str, case_id: str) -> bool: ...

    def active_read(self, *, subject_pseudonym: str, case_id: str) -> Read[bool]:
        """:meth:`active` as a read to send with others."""


class ContestedPort(Protocol):
    """Pending *correcties* (AVG art. 18(1)(a)): marks the records they contest."""

    def mark_in(
        self,
        session: Session,
        subject_pseudonym: str,
        results: list[SourceResult],
        *,
        withholding: bool = False,
    ) -> list[SourceResult]: ...


@dataclass
class QueryOutcome:
    query_id: str
    results: list[SourceResult]
    trace_id: str | None
    subject_ref: str = "s1"
    subject_role: str = "hoofdpersoon"


@dataclass
class _Planned:
    source: str | None
    category: str
    decision: Decision | None
    consent_id: str | None = None
    # A peer gateway answers for this source and its OvJ decides on consent there.
    remote: bool = False


@dataclass(frozen=True, slots=True)
class _Unanswered:
    """Why a source gave no records; ``no_answer``: it said nothing at all (a copy may
    stand in), else it refused or its answer was unusable (``SourceUnavailable``)."""

    reason: str
    no_answer: bool = False


@dataclass(frozen=True, slots=True)
class _Asked:
    """What the query asked for: categories, sources (none: every holder), motivation."""

    categories: Sequence[str]
    sources: Sequence[str] | None
    motivation: Motivation | None


@dataclass
class _Plan:
    case: CaseRecord
    policy: CompiledPolicy
    items: list[_Planned]
    bsn: Bsn | None
    new_consent_request: str | None = None
    # Sent on to a peer region, whose own OvJ weighs it (API.md §3).
    motivation: tuple[str, str] | None = None


_NOT_ASKED = _Unanswered("no_answer")
# A source that refuses us (401/403) has said no: what we kept of it goes too.
_DROP_ON_REFUSAL: dict[str, CopyEffect] = {"unauthorized": "drop"}


def new_query_id() -> str:
    return random_id("q-")


class Broker:
    def __init__(
        self,
        db: Database,
        cases: CaseService,
        policy: Callable[[], CompiledPolicy],
        connectors: ConnectorRegistry,
        audit: AuditAppender,
        *,
        consents: ConsentPort | None,
        objections: ObjectionPort | None,
        copies: CopyStore | None = None,
        contested: ContestedPort | None = None,
        default_timeout_s: float,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._db = db
        self._cases = cases
        self._policy = policy
        self._connectors = connectors
        self._audit = audit
        self._consents = consents
        self._objections = objections
        self._default_timeout_s = default_timeout_s
        self._today = today
        self._copies = copies
        self._contested = contested
        self._tracer = tracer  # the provider's own once one is set (``query`` asks again)

    async def query(
        self,
        actor: Actor,
        case_id: str,
        categories: Sequence[str],
        sources: Sequence[str] | None,
        *,
        subject: str | None = None,
        motivation: Motivation | None = None,
    ) -> QueryOutcome:
        """Ask the sources about one person of the case: ``subject`` (a ref), default ``s1``."""
        check_known_ids(self._policy(), actor.covenant, categories, sources)
        check_motivation(self._policy(), actor.covenant, categories, motivation)
        started = {"ketenpoort.case": case_id, "ketenpoort.purpose": actor.purpose}
        own = self._tracer
        if type(own) is trace.ProxyTracer:  # a proxy costs two calls per span
            own = self._tracer = trace.get_tracer(TRACER)
        with CurrentSpan(own, "ketenpoort.query", started) as span:
            plan = await offload.run_sync(
                self._plan, actor, case_id, categories, sources, subject, motivation
            )
            fetched_at = datetime.now(UTC)  # answers below are at most this old (copies)
            results = await self._fan_out(actor, plan)
            # Copies are kept per case and source for the hoofdpersoon only: a copy
            # about one member of a household must never answer for another.
            copies = self._copies if plan.case.subject_ref == "s1" else None
            if copies is not None:
                results = await serve_copies(copies, plan.policy, plan.case, plan.items, results)
            results = await self._settle_and_log(actor, plan, results)
            if copies is not None:
                await keep_copies(copies, plan.policy, plan.case, plan.items, results, fetched_at)
            span.set_attribute("ketenpoort.results", len(results))
            trace_id, _ = trace_ids(span)  # the current span: no look-up
            return QueryOutcome(
                new_query_id(), results, trace_id, plan.case.subject_ref, plan.case.subject_role
            )

    def _plan(
        self,
        actor: Actor,
        case_id: str,
        categories: Sequence[str],
        sources: Sequence[str] | None,
        subject: str | None = None,
        motivation: Motivation | None = None,
    ) -> _Plan:
        policy = self._policy()
        today = self._today()
        with self._db.transaction() as session:
            loaded = self._cases.load_for_query(session, case_id, subject)
            case = loaded.record
            view = case.decision_view()
            # Independent reads of the loaded case: one round trip on PostgreSQL.
            objected, standing = read_together(
                session,
                self._objections.active_read(
                    subject_pseudonym=case.subject_pseudonym, case_id=case.id
                )
                if self._objections is not None
                else None,
                self._consents.standing_read(
                    case_id=case.id,
                    subject_ref=case.subject_ref,
                    recipient=actor.party,
                    today=today,
                )
                if self._consents is not None
                else None,
            )
            objection = objected is True
            compiled = policy.covenants.get(actor.covenant)
            grounds = (
                in_force(
                    session,
                    case_id=case.id,
                    subject_ref=case.subject_ref,
                    recipient=actor.party,
                    today=today,
                )
                if compiled is not None and _needs_grounds(compiled, actor, case, categories)
                else {}
            )
            items, permitted = self._decide_all(
                policy,
                Decider(
                    policy,
                    today,
                    token_covenant=actor.covenant,
                    token_purpose=actor.purpose,
                    requester_party=actor.party,
                    case=view,
                ),
                actor,
                _Asked(categories, sources, motivation),
                objection=objection,
                standing=standing if standing is not None and standing.requests else None,
                grounds=grounds,
            )
            given = (motivation.code, motivation.text) if motivation is not None else None
            new_request = self._request_consents(session, actor, case, items, motivation)
            if new_request is not None:  # the request and its entry commit together
                event = consent_requested_event(actor, case, policy, new_request, given)
                self._audit.append_in(session, [event])
            bsn = None
            if permitted:
                # Opening the BSN reads its key: the transaction's last statement unless
                # the daily touch is due, so on PostgreSQL its COMMIT rides along.
                due = self._cases.touch_due(case)
                with nullcontext() if due else commit_with_last(session):
                    bsn = self._cases.open_subject(session, loaded)
                if due:
                    self._cases.touch(session, case)
        return _Plan(case, policy, items, bsn, new_request, given)

    def _decide_all(
        self,
        policy: CompiledPolicy,
        decider: Decider,
        actor: Actor,
        asked: _Asked,
        *,
        objection: bool,
        standing: ConsentStanding | None,
        grounds: Mapping[str, tuple[RecordedGround, ...]],
    ) -> tuple[list[_Planned], bool]:
        """One decision per (category, source) asked, and whether any of them permits.

        What does not depend on the pair is worked out once: the case-level
        conditions (``decider``), whether a source's consent is a peer's (per
        source), a standing refusal (per category; only when a refusal can
        matter). ``standing`` is ``None`` when no consent request exists at all,
        which answers every pair as an empty standing would (no cover, no refusal).
        """
        items: list[_Planned] = []
        permitted = False
        remote_of: dict[str, bool] = {}
        for category in dict.fromkeys(asked.categories):
            targets = (
                list(dict.fromkeys(asked.sources))
                if asked.sources
                else list(policy.holders(actor.covenant, category))
            )
            if not targets:
                items.append(_Planned(None, category, None))
                continue
            recorded = grounds.get(category, ())
            refused: str | None = None
            refusal_read = False
            for source in targets:
                remote = remote_of.get(source)
                if remote is None:
                    remote = remote_of[source] = self._connectors.consent_is_remote(
                        policy, actor.covenant, source
                    )
                cover = None if remote or standing is None else standing.cover(category, source)
                consent_id = cover.consent_id if cover is not None else None
                if cover is None and not remote and standing is not None and not refusal_read:
                    refused, refusal_read = standing.refused(category, asked.motivation), True
                decision = decider.decide(
                    source,
                    category,
                    has_covering_consent=remote or consent_id is not None,
                    objection_active=objection,
                    consent_decided_by=cover.decided_by if cover is not None else None,
                    consent_fields=cover.fields if cover is not None else None,
                    consent_refused=cover is None and not remote and refused is not None,
                    grounds=recorded,
                )
                if decision.reason is Reason.CONSENT_REFUSED:
                    consent_id = refused
                permitted = permitted or decision.permitted
                items.append(_Planned(source, category, decision, consent_id, remote))
        return items, permitted

    async def _settle_and_log(
        self, actor: Actor, plan: _Plan, results: list[SourceResult]
    ) -> list[SourceResult]:
        """The post-answer checks and the audit entries, in the group commit's transaction.

        :meth:`_settle` runs on the audit writer's thread inside the transaction that
        commits this query's entries (``append_after``): the consent recheck reads as
        late as anything can before the answer, a peer's withholding commits with the
        disclosure entry it belongs to, and the checks need no thread hop and no
        transaction of their own. Returns once the entries are durable (promise 5).
        """
        settled: list[list[SourceResult]] = []

        def settle_and_events(session: Session) -> list[AuditEvent]:
            checked = self._settle(session, actor, plan, results)
            settled[:] = [checked]
            return query_events(actor, plan.case, plan.policy, checked)

        await self._audit.append_after(settle_and_events)
        return settled[0]

    def _settle(
        self, session: Session, actor: Actor, plan: _Plan, results: list[SourceResult]
    ) -> list[SourceResult]:
        """After the sources answered, in the caller's transaction: recheck consents,
        mark (or withhold) contested records, carry withholdings (in that order).

        The consent recheck comes first: a result whose consent was revoked meanwhile
        says ``consent_revoked`` and nothing more, never ``contested`` with a count
        (which would tell that recipient the source holds contested records).
        """
        results = self._recheck_consents(session, actor, plan, results)
        if self._contested is not None and any(r.records for r in results):
            covenant = plan.policy.covenant(actor.covenant)
            results = self._contested.mark_in(
                session,
                plan.case.subject_pseudonym,
                results,
                withholding=covenant is not None and covenant.rights.contested == "withhold",
            )
        return self._withholdings(session, actor, plan, results)

    def _recheck_consents(
        self, session: Session, actor: Actor, plan: _Plan, results: list[SourceResult]
    ) -> list[SourceResult]:
        """Just before answering: a consent revoked or expired while a slow source answered
        lets nothing out (promise 3); the result becomes ``denied``/``consent_revoked``."""
        based = [
            index
            for index, (item, result) in enumerate(zip(plan.items, results, strict=True))
            if result.status == "ok" and item.consent_id is not None
        ]
        if not based or self._consents is None:
            return results
        checked = list(results)
        standing = self._consents.standing(
            session,
            case_id=plan.case.id,
            subject_ref=plan.case.subject_ref,
            recipient=actor.party,
            today=self._today(),
        )
        for index in based:
            result = results[index]
            still = standing.covering(result.category, result.source)
            if still is None:
                checked[index] = SourceResult(
                    result.source,
                    result.category,
                    "denied",
                    "consent_revoked",
                    result.consent_id,
                )
            elif still != result.consent_id:
                checked[index] = replace(result, consent_id=still)
        return checked

    def _withholdings(
        self, session: Session, actor: Actor, plan: _Plan, results: list[SourceResult]
    ) -> list[SourceResult]:
        """Carry an OvJ's inzage withholding with each disclosure it applies to.

        Ours: the answer names ``withheld_until``, so a peer gateway passing the data
        on withholds it too. A peer's: recorded here (capped by our covenant's
        ``rights.withheld_max``) before our disclosure entry is written, so the
        person's inzage here does not show what the peer's OvJ withheld.
        """
        ok = [(i, r) for i, r in enumerate(results) if r.status == "ok"]
        if not ok or self._consents is None:
            return results
        checked = list(results)
        today = self._today()
        # Without a peer's withholding nothing is written here, so one read per category
        # answers every source of it; with one, each result is read after the last write.
        reads_only = all(result.withheld_until is None for _, result in ok)
        known: dict[str, date | None] = {}
        for index, result in ok:
            kept = None
            if reads_only and result.category in known:
                until = known[result.category]
            else:
                until, kept = self._consents.withheld_until(
                    session,
                    case=plan.case,
                    category=result.category,
                    recipient=actor.party,
                    source=result.source or "",
                    consent_id=result.consent_id,
                    peer_until=result.withheld_until,
                    today=today,
                )
                known[result.category] = until
            if until != result.withheld_until or kept is not None:  # most are not withheld
                checked[index] = replace(result, withheld_until=until, withholding_kept=kept)
        return checked

    def _request_consents(
        self,
        session: Session,
        actor: Actor,
        case: CaseRecord,
        items: list[_Planned],
        motivation: Motivation | None,
    ) -> str | None:
        """Attach the consent request to waiting items; the id if it was newly created."""
        waiting = [
            i
            for i in items
            if i.decision is not None and i.decision.outcome is Outcome.NEEDS_CONSENT
        ]
        if not waiting or self._consents is None:
            return None
        request_id, created = self._consents.request(
            session,
            case=case,
            categories=sorted({i.category for i in waiting}),
            recipient=actor.party,
            purpose=actor.purpose,
            employee=actor.employee,
            motivation=motivation,
            subject_ref=case.subject_ref,
        )
        for item in waiting:
            item.consent_id = request_id
        return request_id if created else None

    async def _fan_out(self, actor: Actor, plan: _Plan) -> list[SourceResult]:
        by_source: dict[str, dict[str, frozenset[str]]] = {}
        for item in plan.items:
            decision = item.decision
            if item.source is not None and decision is not None and decision.permitted:
                by_source.setdefault(item.source, {})[item.category] = decision.fields
        answers: dict[str, LookupResult | _Unanswered] = {}
        if by_source and plan.bsn is not None:
            sources = list(by_source)
            requester = Requester(actor.party, actor.employee)
            outcomes = await asyncio.gather(
                *[
                    self._ask(actor, plan, s, tuple(by_source[s]), plan.bsn, requester)
                    for s in sources
                ]
            )
            answers = dict(zip(sources, outcomes, strict=True))
        minimised = {
            source: minimise(answer.records, by_source[source])
            for source, answer in answers.items()
            if not isinstance(answer, _Unanswered)
        }
        return [self._result(item, by_source, answers, minimised) for item in plan.items]

    async def _ask(
        self,
        actor: Actor,
        plan: _Plan,
        source: str,
        categories: tuple[str, ...],
        bsn: Bsn,
        requester: Requester,
    ) -> LookupResult | _Unanswered:
        """The source's answer, or the short reason it is unavailable.

        The bound is an ``asyncio.timeout`` around the call in this task (no task of
        its own per source, as ``wait_for`` makes): on expiry the call is cancelled
        and the answer is ``timeout``, as before.
        """
        try:
            connector = self._connectors.get(plan.policy, actor.covenant, source)
        except (ConnectorConfigError, UnsupportedSourceError) as error:
            log.warning("source %s has no usable connector: %s", source, type(error).__name__)
            return _Unanswered("no_connector")
        if connector is None:
            return _Unanswered("no_connector")
        timeout = self._connectors.timeout_s(
            plan.policy, actor.covenant, source, self._default_timeout_s
        )
        request = LookupRequest(
            subject=bsn,
            categories=categories,
            convenant=actor.covenant,
            purpose=actor.purpose,
            case=plan.case.id,
            requester=requester,
            phase=plan.case.phase,
            motivation=plan.motivation,
        )
        # A rest connector's CLIENT span names the source: a span of ours around it
        # would only repeat that (and cost a span per source per query).
        own_span = not (isinstance(connector, RestConnector) and connector.source_party == source)
        with (
            CurrentSpan(tracer, "ketenpoort.source_lookup", {"ketenpoort.source": source})
            if own_span
            else nullcontext()
        ):
            try:
                async with asyncio.timeout(timeout):
                    return await connector.lookup(request)
            except TimeoutError:
                return _Unanswered("timeout", no_answer=True)
            except SourceUnavailable as exc:
                return _Unanswered(str(exc.reason), no_answer=exc.no_answer)

    def _result(
        self,
        item: _Planned,
        by_source: dict[str, dict[str, frozenset[str]]],
        answers: dict[str, LookupResult | _Unanswered],
        minimised: dict[str, Minimised],
    ) -> SourceResult:
        decision = item.decision
        if decision is None or item.source is None:
            return SourceResult(item.source, item.category, "denied", "no_rule")
        if decision.outcome is Outcome.NEEDS_CONSENT:
            return SourceResult(
                item.source,
                item.category,
                "pending_consent",
                decision.reason.value,
                item.consent_id,
            )
        if not decision.permitted:
            return SourceResult(
                item.source,
                item.category,
                "denied",
                decision.reason.value,
                item.consent_id if decision.reason is Reason.CONSENT_REFUSED else None,
            )
        answer = answers.get(item.source, _NOT_ASKED)
        if isinstance(answer, _Unanswered):
            return SourceResult(
                item.source,
                item.category,
                "unavailable",
                answer.reason,
                copies="bridge" if answer.no_answer else _DROP_ON_REFUSAL.get(answer.reason),
            )
        remote = answer.remote_outcomes.get(item.category)
        if remote is not None and remote.status != "ok":
            # The peer's own answer: its "no" (or "not yet") ends what we kept of it.
            # Unavailable: bridged only when the peer itself said nothing at all, not
            # when it relays a source of its own it could not use.
            effect: CopyEffect | None = "drop" if remote.status != "unavailable" else None
            return SourceResult(
                item.source,
                item.category,
                remote.status,
                remote.reason,
                remote.consent_id,
                copies="bridge" if remote.no_answer else effect,
            )
        if not answer.subject_known:
            return SourceResult(
                item.source, item.category, "not_found", "subject_unknown", copies="drop"
            )
        kept = minimised[item.source]
        # Fields of records in categories nobody asked for count against the first category.
        first = next(iter(by_source[item.source]))
        dropped = kept.dropped_fields if item.category == first else 0
        return SourceResult(
            item.source,
            item.category,
            "ok",
            "permitted",
            item.consent_id or (remote.consent_id if remote is not None else None),
            kept.records[item.category],
            kept.trimmed_fields[item.category] + dropped,
            remote.withheld_until if remote is not None else None,
            decision.ground,
        )
