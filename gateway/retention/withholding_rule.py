"""Withholdings from inzage, removed once their ``until`` date has passed.

Their own rule, not part of the consent or case rules: a withholding must
outlive the consent row (deleted after ``valid_until``) and the case (the
criminal log entries it hides stay readable for at least four years), and
must go as soon as it no longer applies, so the person sees every disclosure.
"""

from __future__ import annotations

from gateway.consent.withholdings import Withholding
from gateway.retention.rules import ExpiredRows


class ExpiredWithholdings(ExpiredRows):
    """A withholding applies while ``today < until``; from ``until`` on it is removed."""

    def __init__(self) -> None:
        super().__init__(
            "withholdings", Withholding.id, int, lambda ctx: Withholding.until <= ctx.now.date()
        )
