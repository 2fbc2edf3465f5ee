"""Withholdings from inzage, removed once their ``until`` date has passed.

Their own rule, not part of the consent or case rules: a withholding must
outlive the consent row (deleted after ``valid_until``) and the case (the
criminal log entries it hides stay readable for at least four years), and
must go as soon as it no longer applies, so the person sees every disclosure.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from gateway.consent.withholdings import Withholding
from gateway.retention.rules import Counts, Key, Page, RuleContext, rowcount


class ExpiredWithholdings:
    """A withholding applies while ``today < until``; from ``until`` on it is removed."""

    name = "withholdings"

    @staticmethod
    def _due(ctx: RuleContext) -> ColumnElement[bool]:
        return Withholding.until <= ctx.now.date()

    def estimate(self, session: Session, ctx: RuleContext) -> int:
        return int(session.scalar(select(func.count()).where(self._due(ctx))) or 0)

    def page(self, session: Session, ctx: RuleContext, after: Key | None, limit: int) -> Page:
        query = select(Withholding.id).where(self._due(ctx))
        if after is not None:
            query = query.where(Withholding.id > int(after))
        keys: list[Key] = list(session.scalars(query.order_by(Withholding.id).limit(limit)))
        return Page(keys, keys[-1] if len(keys) == limit and keys else None)

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        result = session.execute(
            delete(Withholding).where(Withholding.id.in_([int(k) for k in keys]), self._due(ctx))
        )
        return {"rows": rowcount(result)}
