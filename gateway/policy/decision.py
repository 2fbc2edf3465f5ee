"""The policy decision: permit, deny (with the first failing condition) or needs_consent.

Deny by default. The conditions are checked in POLICY.md's order and the
first failing one is the reason; the reasons are part of the API (API.md §3)
and of the audit log, so they live in one enum. The function is pure: the
caller supplies what only it knows (the case, whether a covering OvJ consent
exists, whether a *verzet* is pending or granted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from gateway.policy.compiled import CompiledPolicy
from gateway.policy.models import MAIN_SUBJECT_ROLE, Phase, Sensitivity


class Outcome(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    NEEDS_CONSENT = "needs_consent"


class Reason(StrEnum):
    """In decision order; ``permitted`` only accompanies a permit."""

    CONVENANT_INACTIVE = "convenant_inactive"
    PURPOSE_MISMATCH = "purpose_mismatch"
    NOT_PARTICIPANT = "not_participant"
    CASE_CLOSED = "case_closed"
    UNKNOWN_SOURCE = "unknown_source"
    PHASE = "phase"
    SUBJECT_ROLE = "subject_role"
    NO_RULE = "no_rule"
    UNKNOWN_CATEGORY = "unknown_category"
    OBJECTION = "objection"
    CONSENT_REQUIRED = "consent_required"
    PERMITTED = "permitted"


@dataclass(frozen=True, slots=True)
class CaseView:
    """What the decision needs to know about a casus."""

    convenant: str
    purpose: str
    phase: Phase
    status: Literal["open", "closed"]
    participants: frozenset[str]
    # The role of the subject asked about (a household case names several).
    subject_role: str = MAIN_SUBJECT_ROLE


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    token_convenant: str
    token_purpose: str
    requester_party: str
    case: CaseView
    source_party: str
    category: str
    has_covering_consent: bool = False
    objection_active: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """``fields`` is empty unless permitted; ``sensitivity`` is known once the category is."""

    outcome: Outcome
    reason: Reason
    fields: frozenset[str]
    sensitivity: Sensitivity | None

    @property
    def permitted(self) -> bool:
        return self.outcome is Outcome.PERMIT


_NONE: frozenset[str] = frozenset()
_SENSITIVITIES: tuple[Sensitivity | None, ...] = (None, "gewoon", "bijzonder", "strafrechtelijk")
_DENIALS: dict[tuple[Reason, Sensitivity | None], Decision] = {
    (reason, sensitivity): Decision(Outcome.DENY, reason, _NONE, sensitivity)
    for reason in Reason
    for sensitivity in _SENSITIVITIES
}
_NEEDS_CONSENT = Decision(Outcome.NEEDS_CONSENT, Reason.CONSENT_REQUIRED, _NONE, "strafrechtelijk")


def decide(policy: CompiledPolicy, today: date, req: DecisionRequest) -> Decision:
    """Decide one (requester, purpose, case, source, category) request; see POLICY.md."""
    cov = policy.covenants.get(req.token_convenant)
    if cov is None:
        return _DENIALS[Reason.CONVENANT_INACTIVE, None]
    category = cov.categories.get(req.category)
    sensitivity = category.sensitivity if category is not None else None
    if not cov.active_on(today):
        return _DENIALS[Reason.CONVENANT_INACTIVE, sensitivity]
    case = req.case
    if (
        req.token_purpose not in cov.purposes
        or case.convenant != req.token_convenant
        or case.purpose != req.token_purpose
    ):
        return _DENIALS[Reason.PURPOSE_MISMATCH, sensitivity]
    if req.requester_party not in case.participants:
        return _DENIALS[Reason.NOT_PARTICIPANT, sensitivity]
    if case.status != "open":
        return _DENIALS[Reason.CASE_CLOSED, sensitivity]
    if req.source_party not in cov.parties:
        return _DENIALS[Reason.UNKNOWN_SOURCE, sensitivity]
    by_phase = cov.grants.get(
        (req.token_purpose, req.requester_party, req.source_party, req.category)
    )
    if by_phase is None:
        return _DENIALS[Reason.NO_RULE, sensitivity]
    if case.phase not in by_phase:
        return _DENIALS[Reason.PHASE, sensitivity]
    # Condition 7's subject role is part of the rule match: a subject no rule covers
    # is refused here, before a verzet or an OvJ request could be about them.
    fields = cov.role_grants[
        (req.token_purpose, req.requester_party, req.source_party, req.category)
    ].get((case.phase, case.subject_role))
    if fields is None:
        return _DENIALS[Reason.SUBJECT_ROLE, sensitivity]
    if category is None:
        return _DENIALS[Reason.UNKNOWN_CATEGORY, None]
    # A verzet comes before consent (POLICY.md condition 6 "checked before 5"): an
    # objection must never open an OvJ request about the person who objected.
    if req.objection_active:
        return _DENIALS[Reason.OBJECTION, sensitivity]
    if category.needs_consent and not req.has_covering_consent:
        return _NEEDS_CONSENT
    return Decision(Outcome.PERMIT, Reason.PERMITTED, fields, sensitivity)
