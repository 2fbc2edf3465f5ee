"""The retention rules: each says what would go now, and removes one batch of it.

A rule pages through its candidates in key order (``after`` is the last key
of the previous page), so a dry run can count everything without deleting
and a row that looked expired but is not (calendar periods are checked
exactly in Python) never stalls the run. ``purge`` re-checks the condition in
its own ``DELETE``/``SELECT ... FOR UPDATE``: what changed since is not lost.
Every time limit comes from the covenant (promise 8), none from code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Row, Select, and_, delete, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.auth.replay import UsedAssertion
from gateway.cases.models import Case
from gateway.consent.models import ConsentRequest
from gateway.copies.models import CachedCopy, CopyDrop
from gateway.copies.store import DROP_MARK_KEPT, copies_duration
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.durations import IsoDuration

Key = str | int
Counts = dict[str, int]


@dataclass(frozen=True)
class RuleContext:
    """One run's fixed view: the moment it judges by and the covenants in force."""

    now: datetime
    policy: CompiledPolicy


@dataclass(frozen=True)
class Page:
    """Keys to remove from one page; ``cursor`` None once the rule has nothing further."""

    keys: list[Key]
    cursor: Key | None


class Rule(Protocol):
    name: str

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        """At least as many as would go (for the progress bar)."""

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        """The next page of keys that would go now."""

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        """Remove those still due; ``rows`` counts what went."""


def rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def min_span(duration: IsoDuration) -> timedelta:
    """A lower bound of the duration from any start: SQL pre-filters, Python decides.

    Beyond what a timedelta holds it is ``timedelta.max``: never an OverflowError
    in the middle of a run.
    """
    try:
        return timedelta(
            days=365 * duration.years + 28 * duration.months + 7 * duration.weeks + duration.days,
            hours=duration.hours,
            minutes=duration.minutes,
            seconds=duration.seconds,
        )
    except OverflowError:
        return timedelta.max


def started_by(
    column: InstrumentedAttribute[Any], ctx: RuleContext, duration: IsoDuration
) -> ColumnElement[bool]:
    """SQL pre-filter: ``column`` at least ``min_span(duration)`` before now.

    A period reaching before the calendar's first day (``P2500Y`` from 2027)
    selects nothing instead of raising OverflowError, which stopped every later
    rule of the run (review-b F1).
    """
    try:
        return column <= ctx.now - min_span(duration)
    except OverflowError:
        return false()


def _page(keys: list[Key], scanned: int, limit: int) -> Page:
    return Page(keys, keys[-1] if scanned == limit and keys else None)


class ExpiredRows:
    """The one generic rule: rows of one table whose expiry condition holds.

    Counted for the progress bar, paged by primary key, deleted with the
    condition checked again in the ``DELETE`` itself (a row renewed since the
    page was read stays). Each table's rule only names its key, its key type
    and its condition.
    """

    def __init__(
        self,
        name: str,
        key: InstrumentedAttribute[Any],
        key_type: Callable[[Key], Key],
        due: Callable[[RuleContext], ColumnElement[bool]],
    ) -> None:
        self.name = name
        self._key = key
        self._key_type = key_type
        self._due = due

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        return int(session.scalar(select(func.count()).where(self._due(ctx))) or 0)

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        query = select(self._key).where(self._due(ctx))
        if after is not None:
            query = query.where(self._key > self._key_type(after))
        keys: list[Key] = list(session.scalars(query.order_by(self._key).limit(limit)))
        return _page(keys, len(keys), limit)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        table = self._key.class_
        wanted = [self._key_type(k) for k in keys]
        result = session.execute(delete(table).where(self._key.in_(wanted), self._due(ctx)))
        return {"rows": rowcount(result)}


class ExpiredCopies:
    """Time-limited copies past their term (covenant ``retention.copies``).

    A copy goes at ``expires_at`` (the term when it was kept), or sooner when its
    case's covenant now sets a shorter term or none (``P0D``, or the covenant is no
    longer loaded): the term as it reads now, the same that ``CopyStore.serve`` holds
    it to. A copy with no case row left goes only at ``expires_at``.
    """

    name = "copies"

    def _candidates(self, ctx: RuleContext) -> Select[int, datetime, datetime, str]:
        """At least every copy that is due (SQL pre-filters, :meth:`_due` decides)."""
        terms = {cid: copies_duration(ctx.policy, cid) for cid in ctx.policy.covenants}
        kept = sorted(cid for cid, term in terms.items() if term is not None)
        due = [
            CachedCopy.expires_at <= ctx.now,
            and_(Case.convenant.is_not(None), Case.convenant.not_in(kept)),
        ]
        for cid in kept:
            term = terms[cid]
            assert term is not None
            due.append(
                and_(Case.convenant == cid, CachedCopy.stored_at <= ctx.now - min_span(term))
            )
        return (
            select(CachedCopy.id, CachedCopy.stored_at, CachedCopy.expires_at, Case.convenant)
            .outerjoin(Case, Case.id == CachedCopy.case_id)
            .where(or_(*due))
        )

    @staticmethod
    def _due(ctx: RuleContext, row: Row[int, datetime, datetime, str]) -> bool:
        stored_at, expires_at = row[1], row[2]
        covenant: str | None = row[3]  # None: the outer join found no case
        if expires_at <= ctx.now:
            return True
        if covenant is None:  # no case row: only the term it was kept with is known
            return False
        term = copies_duration(ctx.policy, covenant)
        return term is None or term.add_to(stored_at) <= ctx.now

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        found = select(func.count()).select_from(self._candidates(ctx).subquery())
        return int(session.scalar(found) or 0)

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        query = self._candidates(ctx)
        if after is not None:
            query = query.where(CachedCopy.id > int(after))
        rows = list(session.execute(query.order_by(CachedCopy.id).limit(limit)))
        keys: list[Key] = [row[0] for row in rows if self._due(ctx, row)]
        return Page(keys, rows[-1][0] if len(rows) == limit else None)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        """Checked again by id (a copy is never updated in place: a rewrite is a new row)."""
        wanted = [int(k) for k in keys]
        rows = session.execute(self._candidates(ctx).where(CachedCopy.id.in_(wanted)))
        due = [row[0] for row in rows if self._due(ctx, row)]
        if not due:
            return {"rows": 0}
        result = session.execute(delete(CachedCopy).where(CachedCopy.id.in_(due)))
        return {"rows": rowcount(result)}


class CopyDropMarks(ExpiredRows):
    """Drop marks of copies (``cached_copy_drops``) no query in flight still needs:
    a keep's own mark (no drop) at once, a drop's a day after it."""

    def __init__(self) -> None:
        super().__init__(
            "copy_drops",
            CopyDrop.mark,
            str,
            lambda ctx: or_(
                CopyDrop.dropped_at.is_(None), CopyDrop.dropped_at <= ctx.now - DROP_MARK_KEPT
            ),
        )


class ReplayLeftovers(ExpiredRows):
    """Used client-assertion ``jti``s that could no longer be presented anyway."""

    def __init__(self) -> None:
        super().__init__(
            "replay_store", UsedAssertion.key, str, lambda ctx: UsedAssertion.expires_at <= ctx.now
        )


class ExpiredConsents(ExpiredRows):
    """OvJ consents past ``valid_until`` (valid through that UTC date, gone after it).

    The log keeps every consent event; only the register row goes.
    """

    def __init__(self) -> None:
        super().__init__(
            "consents",
            ConsentRequest.id,
            str,
            lambda ctx: ConsentRequest.valid_until < ctx.now.date(),
        )
