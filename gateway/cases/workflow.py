"""The ZVH workflow rules of a covenant: who may refer, where a case may go, why it ends.

Pure checks on the covenant (no session, no HTTP), so the case service reads
as the story of a case and every rule can be tested on its own. A covenant
without the optional workflow blocks keeps the behaviour from before them:
the five legacy phases, any move, closing without a reason (POLICY.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gateway.policy.models import CLOSED, REFERRAL_PHASE, Covenant, Party
from gateway.problems import Conflict, Forbidden, Unprocessable
from gateway.subjects.bsn import holds_bsn, holds_long_number

TriageOutcome = Literal["opgepakt", "niet_opgepakt", "doorverwezen"]
TRIAGE_OUTCOMES: tuple[TriageOutcome, ...] = ("opgepakt", "niet_opgepakt", "doorverwezen")
# Triage decides about a referral (aanmelding) or a case opened straight into triage.
TRIAGE_PHASES = frozenset({REFERRAL_PHASE, "triage"})
MUNICIPALITY = re.compile(r"GM[0-9]{4}")


class PhaseTransition(Conflict):
    """409 ``urn:ketenpoort:problem:phase-transition`` (API.md §2a)."""

    slug = "phase-transition"
    title = "The covenant does not allow this phase transition"


class NotReferrer(Forbidden):
    slug = "not-case-opener"
    title = "Only parties with the covenant's case-opening or referral role may do this"


class TriageDone(Conflict):
    slug = "triage-decided"
    title = "Triage has already been decided for this case"


class ClosureReasonRequired(Unprocessable):
    slug = "closure-reason"
    title = "Closing needs a reason from the covenant's closure_reasons"


@dataclass(frozen=True, slots=True)
class CaseAttributes:
    """What the reports count a case by (API.md §2a, §9); None: not given."""

    case_type: str | None = None
    municipality: str | None = None
    region: str | None = None

    def any(self) -> bool:
        return any(v is not None for v in (self.case_type, self.municipality, self.region))


def may_refer(covenant: Covenant, party: Party) -> bool:
    return covenant.may_refer(party.id)


def check_attributes(covenant: Covenant, attributes: CaseAttributes) -> None:
    if attributes.case_type is not None:
        allowed = covenant.case_types
        if allowed is None or attributes.case_type not in allowed:
            raise Unprocessable(
                detail="case_type is not one of the covenant's case_types.",
                extensions={"allowed_case_types": list(allowed or ())},
            )
    if attributes.municipality is not None and not MUNICIPALITY.fullmatch(attributes.municipality):
        raise Unprocessable(detail="municipality is a CBS code: GM and four digits.")
    check_label("region", attributes.region)


def check_initial(covenant: Covenant, phase: str, *, opener: bool) -> None:
    """A referrer opens only in ``aanmelding``; an opener in the covenant's initial phases."""
    allowed = covenant.initial_phases()
    if phase not in allowed:
        raise Unprocessable(
            detail="A case cannot be opened in this phase under this covenant.",
            extensions={"allowed_phases": list(allowed)},
        )
    if not opener and phase != REFERRAL_PHASE:
        raise NotReferrer(
            detail="A referral is opened in phase aanmelding.",
            extensions={"reason": "not_case_opener"},
        )


def check_move(covenant: Covenant, current: str, target: str) -> None:
    if not covenant.may_move(current, target):
        allowed = covenant.phases.allowed_from(current) if covenant.phases is not None else ()
        raise PhaseTransition(
            detail=f"The covenant does not allow {current} -> {target}.",
            extensions={"from": current, "to": target, "allowed": list(allowed)},
        )


def check_closure(covenant: Covenant, phase: str, reason: str | None) -> None:
    check_move(covenant, phase, CLOSED)
    reasons = covenant.closure_reasons
    if reasons is None:
        check_label("reason", reason)
        return
    if reason is None or reason not in reasons:
        raise ClosureReasonRequired(extensions={"allowed_reasons": list(reasons)})


def check_label(name: str, value: str | None) -> None:
    """An id-like value kept in clear (a region, an unlisted closure reason) and shown as a
    report label: eight digits in a row may be a BSN and are refused, never echoed."""
    if value is not None and (holds_long_number(value) or holds_bsn(value)):
        raise Unprocessable(detail=f"{name} must not contain a BSN.")


def check_free_text(name: str, text: str | None) -> None:
    """Reasons and notes go to the log in clear: a BSN there is refused, never echoed."""
    if text is not None and holds_bsn(text):
        raise Unprocessable(detail=f"{name} must not contain a BSN.")
