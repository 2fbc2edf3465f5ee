"""Withholdings from inzage, removed once their ``until`` date has passed.

Their own rule, not part of the consent or case rules: an OvJ's withholding
(``withholdings``) must outlive the consent row (deleted after ``valid_until``)
and, while it hides criminal log entries still readable (a kept
``strafrechtelijk`` key, Wjsg), the case; it must go as soon as it no longer
applies, so the person sees every disclosure. When its case is purged it goes
with it unless it hides such entries (see ``purge_cases``): before, every row
stayed until its day, naming the pseudonym, case, category and recipient in
clear after the person was erased.

The same holds for a source's own withholdings (``rights_withholdings``,
gateway/rights/withholding.py): they name the person's pseudonym, the case,
category, source, ground and employee in clear, so once the limitation ends
nothing justifies keeping them (AVG art. 5(1)(e); the covenant keeps nothing
longer than needed, art. 9.1). Before, no rule removed them at all and they
stayed linkable after the person was erased. When their case is purged they
go with it (see ``purge_cases``): only one still in force that hides readable
criminal log entries (a kept ``strafrechtelijk`` key) stays until its day.
While the case lives an expired one is kept: it is where the cap on renewals
starts (``rights.withheld_max`` after the *first* withholding), and dropping
it would let a source restart the term by letting it lapse for a day. It
hides nothing then (only ``until > today`` counts) and names nothing the
case row itself does not.

A row of either table kept past its case holds the person (sealed BSN, own
key) as a rights request does (``erase_person_if_done``): when its rule removes
a person's last one, and nothing else holds her, she is erased in the same run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases.models import Case
from gateway.consent.withholdings import Withholding
from gateway.retention.case_rules import erase_person_if_done
from gateway.retention.rules import Counts, ExpiredRows, Key, RuleContext
from gateway.rights.models import PartnerWithholding


class _ErasingRows(ExpiredRows):
    """Expired rows that may be the last thing holding their person (see above)."""

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        """Remove the rows, then erase each person no case, request or row holds any more."""
        model: Any = self._key.class_
        people = sorted(
            set(
                session.scalars(
                    select(model.subject_pseudonym).where(model.id.in_([int(k) for k in keys]))
                )
            )
        )
        counts = super().purge(session, ctx, keys)
        counts["subjects_erased"] = sum(
            erase_person_if_done(session, person, ctx.now) for person in people
        )
        return counts


class ExpiredWithholdings(_ErasingRows):
    """A withholding applies while ``today < until``; from ``until`` on it is removed."""

    def __init__(self) -> None:
        super().__init__(
            "withholdings", Withholding.id, int, lambda ctx: Withholding.until <= ctx.now.date()
        )


class ExpiredPartnerWithholdings(_ErasingRows):
    """A source's withholding past its ``until`` day whose case is gone (see above)."""

    def __init__(self) -> None:
        super().__init__(
            "partner_withholdings",
            PartnerWithholding.id,
            int,
            lambda ctx: (
                (PartnerWithholding.until <= ctx.now.date())
                & ~select(Case.id).where(Case.id == PartnerWithholding.case_id).exists()
            ),
        )
