"""Withholdings from inzage, removed once their ``until`` date has passed.

Their own rule, not part of the consent or case rules: a withholding must
outlive the consent row (deleted after ``valid_until``) and the case (the
criminal log entries it hides stay readable for at least four years), and
must go as soon as it no longer applies, so the person sees every disclosure.

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

A row kept past its case holds the person (sealed BSN, own key) as a rights
request does (``erase_person_if_done``): when this rule removes a person's
last one, and nothing else holds her, she is erased in the same run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases.models import Case
from gateway.consent.withholdings import Withholding
from gateway.retention.case_rules import erase_person_if_done
from gateway.retention.rules import Counts, ExpiredRows, Key, RuleContext
from gateway.rights.models import PartnerWithholding


class ExpiredWithholdings(ExpiredRows):
    """A withholding applies while ``today < until``; from ``until`` on it is removed."""

    def __init__(self) -> None:
        super().__init__(
            "withholdings", Withholding.id, int, lambda ctx: Withholding.until <= ctx.now.date()
        )


class ExpiredPartnerWithholdings(ExpiredRows):
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

    def purge(self, session: Session, ctx: RuleContext, keys: Sequence[Key]) -> Counts:
        """Remove the rows, then erase each person no case, request or row holds any more."""
        people = sorted(
            set(
                session.scalars(
                    select(PartnerWithholding.subject_pseudonym).where(
                        PartnerWithholding.id.in_([int(k) for k in keys])
                    )
                )
            )
        )
        counts = super().purge(session, ctx, keys)
        counts["subjects_erased"] = sum(
            erase_person_if_done(session, person, ctx.now) for person in people
        )
        return counts
