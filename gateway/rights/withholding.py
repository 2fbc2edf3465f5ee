"""A partner withholds its disclosures from the person's inzage (UAVG art. 41 lid 1 sub h/i, d).

The OvJ's withholding (gateway/consent/withholdings.py) covers one recipient
of criminal data. A source party may also limit the inzage of what *it*
disclosed in one case and category, on one of three grounds: to protect a
victim (``bescherming_slachtoffer``), to protect a reporter
(``bescherming_melder``) or for a running investigation
(``lopend_onderzoek``). Only its own data: the party must be a participant
of the case and hold the category in its source. The end date is required
and at most the covenant's ``rights.withheld_max`` after the *first*
withholding of the same person, case, category and source: a renewal does
not restart the term. Before, each new row was capped from its own day, so a
source re-posting just before expiry hid its disclosures for ever. The
inzage counts the withheld entries and names the ground (the law asks that
every limitation is recorded and the person told of it).

A withholding is about one person of the case: ``subject`` (``s1``, the
hoofdpersoon, when left out, as for queries) names which. A query about a
household member logs its disclosures under *that* member's pseudonym, so a
row written under the hoofdpersoon's never matched them: the member's inzage
showed exactly what the source withheld. The row, the cap and the log entry
now all follow the named subject; a source withholding for several members
posts once per member (a limitation of one person's right is not silently
extended to the others).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent
from gateway.cases.household import UnknownSubject
from gateway.cases.models import Case
from gateway.cases.sealing import SubjectErased
from gateway.consent.withholdings import SOURCE, DisclosureHold
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Forbidden, NotFound, Unprocessable
from gateway.rights.models import PartnerWithholding

MAIN_SUBJECT = "s1"
GROUNDS = ("bescherming_slachtoffer", "bescherming_melder", "lopend_onderzoek")
GROUND_TEXTS = {
    "bescherming_slachtoffer": (
        "UAVG art. 41 lid 1 sub i: bescherming van de rechten en vrijheden van een ander "
        "(bescherming van een slachtoffer)"
    ),
    "bescherming_melder": (
        "UAVG art. 41 lid 1 sub i: bescherming van de rechten en vrijheden van een ander "
        "(bescherming van een melder)"
    ),
    "lopend_onderzoek": (
        "UAVG art. 41 lid 1 sub d: voorkoming, onderzoek, opsporing en vervolging van "
        "strafbare feiten (lopend onderzoek)"
    ),
}


class NotOwnData(Forbidden):
    slug = "not-own-data"
    title = "A party withholds only what its own source disclosed in its own case"


class UntilOutOfRange(Unprocessable):
    """``latest``: the last allowed date; ``since``: the first withholding it counts from."""

    slug = "withholding-until"
    title = "The end date must lie in the future and within the covenant's withheld_max"


def record_partner_withholding(
    session: Session,
    policy: CompiledPolicy,
    *,
    party: str,
    employee: str | None,
    covenant: str,
    case_id: str,
    category: str,
    ground: str,
    until: date,
    subject: str = MAIN_SUBJECT,
) -> tuple[PartnerWithholding, AuditEvent]:
    case = session.get(Case, case_id)
    if case is None or case.convenant != covenant:
        raise NotFound(detail="No such case.")
    if party not in {p.party for p in case.participants}:
        raise NotFound(detail="No such case.")
    person = _person(case, subject)
    if party not in policy.holders(covenant, category):
        raise NotOwnData(extensions={"reason": "not_source_of_category"})
    found = policy.covenant(covenant)
    assert found is not None
    now = datetime.now(UTC)
    first = _first_withheld(session, person, case_id, category, party)
    latest = found.rights.withheld_max.add_to(first or now).date()
    if until <= now.date() or until > latest:
        extensions = {"latest": latest.isoformat()}
        if first is not None:  # the term runs from the first withholding, not this one
            extensions["since"] = first.date().isoformat()
        raise UntilOutOfRange(extensions=extensions)
    row = PartnerWithholding(
        subject_pseudonym=person,
        convenant=covenant,
        case_id=case_id,
        category=category,
        source=party,
        ground=ground,
        until=until,
        created_by_employee=employee,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    details: dict[str, str | int] = {"until": until.isoformat(), "withholding": row.id}
    if subject != MAIN_SUBJECT:  # which household member, as a query's entries name it
        details["subject_ref"] = subject
    event = AuditEvent(
        kind="rights",
        outcome="withheld",
        party=party,
        employee=employee,
        encrypt_employee=employee is not None,
        convenant=covenant,
        case=case_id,
        category=category,
        source=party,
        reason=ground,
        subject_pseudonym=person,
        subject_scope="subject",
        # Under the same person's key as the row: verify matches the two.
        details=details,
    )
    return row, event


def _person(case: Case, ref: str) -> str:
    """The pseudonym of the case's subject ``ref``: 404 ``unknown-subject``/``subject-erased``.

    ``s1`` of a case without subject refs (the hoofdpersoon only) is the case row's own.
    """
    found = next((s for s in case.subjects if s.ref == ref), None)
    if found is None:
        if ref == MAIN_SUBJECT:
            return case.subject_pseudonym
        raise UnknownSubject(extensions={"reason": "unknown_subject"})
    if found.pseudonym is None:
        raise SubjectErased()
    return found.pseudonym


def _first_withheld(
    session: Session, pseudonym: str, case_id: str, category: str, source: str
) -> datetime | None:
    """When this source first withheld this category of this person's case (the cap's start).

    Expired rows count too: retention keeps them while their case lives
    (gateway/retention/withholding_rule.py), so letting one lapse and posting
    again does not restart the term either.
    """
    first = session.scalar(
        select(func.min(PartnerWithholding.created_at)).where(
            PartnerWithholding.subject_pseudonym == pseudonym,
            PartnerWithholding.case_id == case_id,
            PartnerWithholding.category == category,
            PartnerWithholding.source == source,
        )
    )
    if first is None:
        return None
    return first if first.tzinfo is not None else first.replace(tzinfo=UTC)


def partner_holds(session: Session, pseudonym: str, today: date) -> list[DisclosureHold]:
    """What this person's sources withhold still in force: withheld while ``today < until``."""
    rows = session.scalars(
        select(PartnerWithholding).where(
            PartnerWithholding.subject_pseudonym == pseudonym, PartnerWithholding.until > today
        )
    )
    return [
        DisclosureHold(r.case_id, r.category, SOURCE, r.source, r.ground, r.until) for r in rows
    ]
