"""Rules that remove cases and the person behind them (seed covenant art. 9.1, 9.3).

A case goes ``case_after_close`` after it was closed, and any case, open or
not, ``after_last_contact`` after the last query (the 5-year hard limit).
With the case go its participants, consent requests and copies, and its data
keys are shredded, so its log entries can no longer name the person (promise
7) while the tree still verifies. When it was the person's last case and no
rights request or withholding of theirs (the OvJ's or a source's) is kept,
their sealed BSN and own key go too.
Criminal-disclosure log keys are kept for the Wjsg floor (see shredding.py).

A case whose covenant is no longer loaded is left alone: its time limits are
unknown, and guessing them is what promise 8 forbids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.audit.models import AuditDataKey
from gateway.cases.models import (
    Case,
    CaseParticipant,
    CasePhaseChange,
    CaseSubject,
    CaseSubjectRef,
)
from gateway.consent.models import ConsentRequest
from gateway.consent.withholdings import Withholding
from gateway.copies.store import delete_case_copies
from gateway.grounds.models import CaseGround
from gateway.policy.criminal_log import WJSG_MINIMUM, criminal_log_retention
from gateway.policy.durations import IsoDuration
from gateway.policy.models import Covenant
from gateway.retention.rules import (
    Counts,
    Key,
    Page,
    RuleContext,
    min_span,
    rowcount,
    started_by,
)
from gateway.retention.shredding import shred_case, shred_keys, shred_subject_key
from gateway.rights.models import PartnerWithholding, RightsRequest
from gateway.rights.notices import Notice


def _count(session: Session, query: Select[Any] | None) -> int:
    if query is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _page_by_id(
    session: Session,
    query: Select[Any] | None,
    id_column: InstrumentedAttribute[str],
    due: Callable[[Any], bool],
    after: Key | None,
    limit: int,
) -> Page:
    """One page of candidates in id order; only those ``due`` now are keys to purge."""
    if query is None:
        return Page([], None)
    if after is not None:
        query = query.where(id_column > str(after))
    rows = list(session.scalars(query.order_by(id_column).limit(limit)))
    keys: list[Key] = [row.id for row in rows if due(row)]
    return Page(keys, rows[-1].id if len(rows) == limit else None)


def _shortest(ctx: RuleContext, field: str) -> IsoDuration | None:
    durations: list[IsoDuration] = [
        getattr(c.covenant.retention, field) for c in ctx.policy.covenants.values()
    ]
    if not durations:
        return None
    return min(durations, key=min_span)


class _CaseRule:
    """Shared paging and purging; subclasses say which moment and which period count."""

    name = ""
    period_field = ""

    def _moment(self, case: Case) -> datetime | None:
        raise NotImplementedError

    def _column(self) -> InstrumentedAttribute[Any]:
        raise NotImplementedError

    def _scope(self, query: Select[Case]) -> Select[Case]:
        return query

    def _period(self, covenant: Covenant) -> IsoDuration:
        period: IsoDuration = getattr(covenant.retention, self.period_field)
        return period

    def _due(self, ctx: RuleContext, case: Case) -> bool:
        covenant = ctx.policy.covenant(case.convenant)
        moment = self._moment(case)
        if covenant is None or moment is None:
            return False
        return self._period(covenant).add_to(moment) <= ctx.now

    def _candidates(self, ctx: RuleContext) -> Select[Case] | None:
        shortest = _shortest(ctx, self.period_field)
        if shortest is None:
            return None
        query = select(Case).where(started_by(self._column(), ctx, shortest))
        return self._scope(query)

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        return _count(session, self._candidates(ctx))

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        due = partial(self._due, ctx)
        return _page_by_id(session, self._candidates(ctx), Case.id, due, after, limit)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        cases = list(
            session.scalars(
                select(Case).where(Case.id.in_([str(k) for k in keys])).with_for_update()
            )
        )
        due = [case for case in cases if self._due(ctx, case)]
        return purge_cases(session, ctx, due)


class ClosedCases(_CaseRule):
    name = "case_after_close"
    period_field = "case_after_close"

    def _moment(self, case: Case) -> datetime | None:
        return case.closed_at if case.status == "closed" else None

    def _column(self) -> InstrumentedAttribute[Any]:
        return Case.closed_at

    def _scope(self, query: Select[Case]) -> Select[Case]:
        return query.where(Case.status == "closed")


class StaleCases(_CaseRule):
    name = "after_last_contact"
    period_field = "after_last_contact"

    def _moment(self, case: Case) -> datetime | None:
        return case.last_contact_at

    def _column(self) -> InstrumentedAttribute[Any]:
        return Case.last_contact_at


def purge_cases(session: Session, ctx: RuleContext, cases: Sequence[Case]) -> Counts:
    """Delete these cases with everything derived from them; shred their keys."""
    counts: Counts = {"rows": 0, "copies": 0, "consents": 0, "keys_shredded": 0}
    counts.update({"criminal_keys_kept": 0, "subjects_erased": 0, "withholdings": 0})
    if not cases:
        return counts
    ids = [case.id for case in cases]
    # Every person of each case (a household names several), read before the rows go.
    people = {
        case.id: sorted({case.subject_pseudonym} | set(_subject_pseudonyms(session, case.id)))
        for case in cases
    }
    counts["copies"] = delete_case_copies(session, ids)
    counts["consents"] = rowcount(
        session.execute(delete(ConsentRequest).where(ConsentRequest.case_id.in_(ids)))
    )
    # The recorded legal grounds (document references, who recorded them) go with the case.
    session.execute(delete(CaseGround).where(CaseGround.case_id.in_(ids)))
    # The informatieplicht statements name the case and its subject refs: they go with it.
    session.execute(delete(Notice).where(Notice.case_id.in_(ids)))
    session.execute(delete(CaseParticipant).where(CaseParticipant.case_id.in_(ids)))
    session.execute(delete(CaseSubjectRef).where(CaseSubjectRef.case_id.in_(ids)))
    session.execute(delete(CasePhaseChange).where(CasePhaseChange.case_id.in_(ids)))
    counts["rows"] = rowcount(session.execute(delete(Case).where(Case.id.in_(ids))))
    for case in cases:
        criminal = criminal_log_retention(ctx.policy, case.convenant)
        assert criminal is not None  # only a loaded covenant's cases are ever due
        shredded = shred_case(session, case.id, ctx.now, criminal, case.convenant)
        counts["keys_shredded"] += shredded.keys
        counts["criminal_keys_kept"] += shredded.criminal_kept
        counts["withholdings"] += _drop_withholdings(session, ctx, case)
    for pseudonym in sorted({p for found in people.values() for p in found}):
        if erase_person_if_done(session, pseudonym, ctx.now):
            counts["subjects_erased"] += 1
    session.expunge_all()
    return counts


def _drop_withholdings(session: Session, ctx: RuleContext, case: Case) -> int:
    """Withholdings of this case go with it, unless they still hide something.

    Both tables: a source's own (``rights_withholdings``) and the OvJ's
    (``withholdings``, ours or a peer's kept here). Once the case's keys are
    shredded its log entries no longer open, so a withholding of them protects
    nobody and only keeps pseudonym, case, category and recipient or source
    linkable. The exception is a ``strafrechtelijk`` category still in force
    while a criminal key of the case is kept (the Wjsg floor): those entries
    still show in the inzage, and the withholding stays until its ``until`` day
    (rules ``partner_withholdings`` and ``withholdings``). Before, the OvJ's rows
    were never dropped with the case, whatever they hid. Runs after ``shred_case``.
    A kept criminal key counts whoever it belongs to: a household member erased
    from the case before (her ref no longer names her) keeps her criminal key, and
    her inzage still shows those entries, so her withholdings must stay too.
    """
    readable = session.scalar(
        select(AuditDataKey.key_id)
        .where(
            AuditDataKey.case_id == case.id,
            AuditDataKey.scope == "strafrechtelijk",
            AuditDataKey.wrapped.is_not(None),
        )
        .limit(1)
    )
    covenant = ctx.policy.covenant(case.convenant)
    if readable is not None and covenant is None:
        return 0  # which categories are criminal is unknown: keep them all
    criminal = (
        [c.id for c in covenant.categories if c.sensitivity == "strafrechtelijk"]
        if readable is not None and covenant is not None
        else None
    )
    dropped = 0
    for model in (PartnerWithholding, Withholding):
        query = delete(model).where(model.case_id == case.id)
        if criminal is not None:
            query = query.where(~((model.until > ctx.now.date()) & model.category.in_(criminal)))
        dropped += rowcount(session.execute(query))
    return dropped


def _subject_pseudonyms(session: Session, case_id: str) -> list[str]:
    return [
        p
        for p in session.scalars(
            select(CaseSubjectRef.pseudonym).where(CaseSubjectRef.case_id == case_id)
        )
        if p is not None
    ]


def erase_person_if_done(session: Session, pseudonym: str, now: datetime) -> bool:
    """The person's sealed BSN and own key go with their last case, rights request and
    withholding (a source's or the OvJ's).

    A source's withholding kept past its case (in force on a criminal category
    whose key the Wjsg floor keeps) still names the person and hides entries
    from her inzage; its ``rights``/``withheld`` entry is sealed under her own
    key, which ``audit verify`` opens to match the row to its person. Before,
    the key and the sealed BSN went at the case purge while the row stayed,
    although the row counted as tying the key for ``orphan_subject_keys``. Now
    the row holds the person like a rights request does, and the
    ``partner_withholdings`` rule erases her in the run that removes her last row.
    The OvJ's withholdings (``withholdings``) kept past their case do the same,
    with the ``withholdings`` rule erasing her: before, they were not counted,
    and a row outlived the person's erasure with her pseudonym in clear.
    """
    other_case = session.scalar(
        select(CaseSubjectRef.case_id).where(CaseSubjectRef.pseudonym == pseudonym).limit(1)
    ) or session.scalar(select(Case.id).where(Case.subject_pseudonym == pseudonym).limit(1))
    request = session.scalar(
        select(RightsRequest.id).where(RightsRequest.subject_pseudonym == pseudonym).limit(1)
    )
    withholding = session.scalar(
        select(PartnerWithholding.id)
        .where(PartnerWithholding.subject_pseudonym == pseudonym)
        .limit(1)
    ) or session.scalar(
        select(Withholding.id).where(Withholding.subject_pseudonym == pseudonym).limit(1)
    )
    if other_case is not None or request is not None or withholding is not None:
        return False
    session.execute(delete(CaseSubject).where(CaseSubject.pseudonym == pseudonym))
    shred_subject_key(session, pseudonym, now)
    return True


class DecidedRightsRequests:
    """Decided rights requests, ``case_after_close`` after the decision.

    A decided request is handled like a closed case of the same covenant: kept
    as long as the covenant keeps closed case records, then removed (its texts
    are sealed under the person's key, shredded with their last record).
    Undecided requests are never removed: their deadline is still running.
    """

    name = "rights_requests"

    def _due(self, ctx: RuleContext, request: RightsRequest) -> bool:
        covenant = ctx.policy.covenant(request.convenant)
        if covenant is None or request.decided_at is None:
            return False
        return covenant.retention.case_after_close.add_to(request.decided_at) <= ctx.now

    def _candidates(self, ctx: RuleContext) -> Select[RightsRequest] | None:
        shortest = _shortest(ctx, "case_after_close")
        if shortest is None:
            return None
        return select(RightsRequest).where(
            RightsRequest.decided_at.is_not(None),
            started_by(RightsRequest.decided_at, ctx, shortest),
        )

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        return _count(session, self._candidates(ctx))

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        due = partial(self._due, ctx)
        return _page_by_id(session, self._candidates(ctx), RightsRequest.id, due, after, limit)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        rows = list(
            session.scalars(
                select(RightsRequest)
                .where(RightsRequest.id.in_([str(k) for k in keys]))
                .with_for_update()
            )
        )
        due = [row for row in rows if self._due(ctx, row)]
        gone = rowcount(
            session.execute(delete(RightsRequest).where(RightsRequest.id.in_([r.id for r in due])))
        )
        erased = 0
        for pseudonym in sorted({row.subject_pseudonym for row in due}):
            if erase_person_if_done(session, pseudonym, ctx.now):
                erased += 1
        session.expunge_all()
        return {"rows": gone, "subjects_erased": erased}


class CriminalLogKeys:
    """Criminal-disclosure log keys kept past their case, once their covenant's floor passed.

    The floor is that of the covenant stamped on the key when its case was purged
    (``audit_data_keys.convenant``). A key whose covenant is not loaded, or that has
    none (kept before the stamp existed, and not backfilled), is kept: before, the
    longest floor of the covenants loaded now decided, so unloading the covenant
    that set ``P6Y`` shredded its keys after four years and a day (review-b F7).
    """

    name = "criminal_log"

    def _candidates(self, ctx: RuleContext) -> Select[str]:
        orphaned = ~select(Case.id).where(Case.id == AuditDataKey.case_id).exists()
        return select(AuditDataKey.key_id).where(
            AuditDataKey.scope == "strafrechtelijk",
            AuditDataKey.wrapped.is_not(None),
            AuditDataKey.convenant.in_(sorted(ctx.policy.covenants)),
            started_by(AuditDataKey.last_used_at, ctx, WJSG_MINIMUM),
            orphaned,
        )

    def _due_ids(
        self, session: Session, ctx: RuleContext, ids: Sequence[str]
    ) -> dict[str, datetime]:
        """The due keys, each with the last use its term was judged on (for shred_keys)."""
        rows = session.execute(
            select(AuditDataKey.key_id, AuditDataKey.last_used_at, AuditDataKey.convenant).where(
                AuditDataKey.key_id.in_(list(ids))
            )
        )
        due: dict[str, datetime] = {}
        for key_id, used, covenant in rows:
            floor = None if covenant is None else criminal_log_retention(ctx.policy, covenant)
            if floor is not None and floor.add_to(used) <= ctx.now:
                due[key_id] = used
        return due

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        return _count(session, self._candidates(ctx))

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        query = self._candidates(ctx)
        if after is not None:
            query = query.where(AuditDataKey.key_id > str(after))
        ordered = query.order_by(AuditDataKey.key_id).limit(limit)
        ids = [str(k) for k in session.scalars(ordered)]
        keys: list[Key] = list(self._due_ids(session, ctx, ids))
        return Page(keys, ids[-1] if len(ids) == limit else None)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        due = self._due_ids(session, ctx, [str(k) for k in keys])
        counts = shred_keys(session, list(due), ctx.now, due)
        return {"rows": counts.keys, "index_rows": counts.index_rows}


class OrphanSubjectKeys:
    """A person's own key with nothing left to tie it to: shredded after the longest term.

    The person's key (scope ``subject``) normally goes with their last case or
    rights request. But entries written *after* that — a /mijn visit of an
    erased person (``inzage_shown``), a filing refused, a federation "known?"
    question about someone without a case — create a fresh key that no case
    or request holds. Such a key goes ``case_after_close`` after its last use,
    taking the longest term of the loaded covenants: the person is known under
    none of them any more, and the log of their visits should not outlive what
    any covenant keeps of a decided request. Each new use (another visit)
    restarts the term, as ``last_used_at`` moves. No covenant loaded: kept.
    """

    name = "orphan_subject_keys"

    @staticmethod
    def _term(ctx: RuleContext) -> IsoDuration | None:
        durations = [c.covenant.retention.case_after_close for c in ctx.policy.covenants.values()]
        if not durations:
            return None
        return max(durations, key=min_span)

    @staticmethod
    def _orphaned() -> Any:
        pseudonym = AuditDataKey.subject_pseudonym
        return (
            ~select(Case.id).where(Case.subject_pseudonym == pseudonym).exists(),
            ~select(CaseSubjectRef.case_id).where(CaseSubjectRef.pseudonym == pseudonym).exists(),
            ~select(RightsRequest.id).where(RightsRequest.subject_pseudonym == pseudonym).exists(),
            ~select(CaseSubject.pseudonym).where(CaseSubject.pseudonym == pseudonym).exists(),
            # A withholding (a source's or the OvJ's) still names the person (it hides
            # readable criminal entries): the key is not orphaned until it ends.
            ~select(PartnerWithholding.id)
            .where(PartnerWithholding.subject_pseudonym == pseudonym)
            .exists(),
            ~select(Withholding.id).where(Withholding.subject_pseudonym == pseudonym).exists(),
        )

    def _candidates(self, ctx: RuleContext, term: IsoDuration) -> Select[str]:
        return select(AuditDataKey.key_id).where(
            AuditDataKey.scope == "subject",
            AuditDataKey.wrapped.is_not(None),
            AuditDataKey.subject_pseudonym.is_not(None),
            started_by(AuditDataKey.last_used_at, ctx, term),
            *self._orphaned(),
        )

    def _due_ids(
        self, session: Session, ctx: RuleContext, ids: Sequence[str]
    ) -> dict[str, datetime]:
        """The due keys, each with the last use its term was judged on (for shred_keys)."""
        term = self._term(ctx)
        if term is None or not ids:
            return {}
        rows = session.execute(
            select(AuditDataKey.key_id, AuditDataKey.last_used_at).where(
                AuditDataKey.key_id.in_(list(ids)), *self._orphaned()
            )
        )
        return {key_id: used for key_id, used in rows if term.add_to(used) <= ctx.now}

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        term = self._term(ctx)
        return 0 if term is None else _count(session, self._candidates(ctx, term))

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        term = self._term(ctx)
        if term is None:
            return Page([], None)
        query = self._candidates(ctx, term)
        if after is not None:
            query = query.where(AuditDataKey.key_id > str(after))
        ids = [str(k) for k in session.scalars(query.order_by(AuditDataKey.key_id).limit(limit))]
        keys: list[Key] = list(self._due_ids(session, ctx, ids))
        return Page(keys, ids[-1] if len(ids) == limit else None)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        locked = list(
            session.scalars(
                select(AuditDataKey.key_id)
                .where(AuditDataKey.key_id.in_([str(k) for k in keys]))
                .with_for_update()
            )
        )
        due = self._due_ids(session, ctx, locked)
        counts = shred_keys(session, list(due), ctx.now, due)
        return {
            "rows": counts.keys,
            "index_rows": counts.index_rows,
            "subjects_erased": counts.keys,
        }
