"""Steps after filing: extension, withdrawal, a source's inzage answer, a correctie carried out.

Each is the rule alone, without HTTP; :class:`gateway.rights.service.RightsService`
calls them under its row lock and writes the audit entry in the same
transaction.

- Extension (AVG art. 12(3)): by the responsible party (or the covenant's
  privacy officer), once, with a reason the person reads, only while the first
  deadline has not passed — the law asks that the person is told *within* the
  first month — and to at most the covenant's ``rights.extension`` (the AVG's
  two months) past the first deadline.
- Withdrawal: by the person (or their representative) while the request is
  pending; it closes the request and stops its restriction (a withdrawn verzet
  no longer restricts, a withdrawn correctie no longer marks).
- Answer: a source that took an inzage (``202``) reports its records.
- Executed: the source party reports a granted correctie carried out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from gateway.policy.durations import IsoDuration, parse_duration
from gateway.policy.models import Covenant
from gateway.problems import Conflict, Unprocessable
from gateway.rights.models import RightsRequest

AVG_EXTENSION = parse_duration("P2M")


class NotPending(Conflict):
    slug = "rights-request-not-pending"
    title = "The rights request is no longer pending"


class ExtensionRefused(Unprocessable):
    slug = "extension-refused"
    title = "The extension is not allowed"


class AnswerRefused(Conflict):
    slug = "answer-refused"
    title = "This source has no open part in this request"


class ExecutionRefused(Conflict):
    slug = "execution-refused"
    title = "Only a granted correctie is carried out"


def extension_limit(covenant: Covenant | None) -> IsoDuration:
    if covenant is None or covenant.rights.extension is None:
        return AVG_EXTENSION
    return covenant.rights.extension


def end_of_day(day: date) -> datetime:
    """An ``until`` date means that whole day: until 23:59:59 UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def check_extension(
    row: RightsRequest, covenant: Covenant | None, until: date, now: datetime
) -> datetime:
    """The new deadline, or :class:`ExtensionRefused` with a machine-readable ``reason``."""
    if row.status != "pending":
        raise NotPending()
    if row.first_deadline is not None:
        raise ExtensionRefused(
            detail="A request is extended once.", extensions={"reason": "already_extended"}
        )
    first = row.deadline
    if now > first:
        raise ExtensionRefused(
            detail="An extension is given within the first term (AVG art. 12(3)).",
            extensions={"reason": "first_term_passed"},
        )
    new_deadline = end_of_day(until)
    if new_deadline <= first:
        raise ExtensionRefused(
            detail="The new deadline must be later than the current one.",
            extensions={"reason": "not_later"},
        )
    if new_deadline > extension_limit(covenant).add_to(first):
        raise ExtensionRefused(
            detail="At most two months past the first deadline (AVG art. 12(3)).",
            extensions={"reason": "too_long"},
        )
    return new_deadline
