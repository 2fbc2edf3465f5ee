"""The policy decision: permit, deny (with the first failing condition) or needs_consent.

Deny by default. The conditions are checked in POLICY.md's order and the
first failing one is the reason; the reasons are part of the API (API.md §3)
and of the audit log, so they live in one enum. The function is pure: the
caller supplies what only it knows (the case, whether a covering OvJ consent
exists and who gave it, whether a refusal stands, whether a *verzet* is pending
or granted, and the legal grounds recorded for the subject).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from gateway.policy.compiled import CompiledCategory, CompiledCovenant, CompiledPolicy
from gateway.policy.grounds import meets
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
    CONSENT_REFUSED = "consent_refused"
    CONSENT_REQUIRED = "consent_required"
    GROUND_REQUIRED = "ground_required"
    PERMITTED = "permitted"


@dataclass(frozen=True, slots=True)
class RecordedGround:
    """A legal ground in force for (case, subject, category, recipient) today (API.md §2b)."""

    id: str
    kind: str
    article: str | None = None


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
    token_covenant: str
    token_purpose: str
    requester_party: str
    case: CaseView
    source_party: str
    category: str
    has_covering_consent: bool = False
    objection_active: bool = False
    # Who granted the covering consent (None: a peer gateway's OvJ decided); a grant by a
    # party the category's agreement_required_from does not name covers nothing.
    consent_decided_by: str | None = None
    # The grant named fields for this category: only those leave (minimisation).
    consent_fields: frozenset[str] | None = None
    # The competent authority refused (case, category, recipient) and no new motivation came.
    consent_refused: bool = False
    grounds: tuple[RecordedGround, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """``fields`` is empty unless permitted; ``sensitivity`` is known once the category is."""

    outcome: Outcome
    reason: Reason
    fields: frozenset[str]
    sensitivity: Sensitivity | None
    ground: str | None = None  # the recorded ground the permit rests on, if a rule required one

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
    cov = policy.covenants.get(req.token_covenant)
    if cov is None:
        return _DENIALS[Reason.CONVENANT_INACTIVE, None]
    category = cov.categories.get(req.category)
    sensitivity = category.sensitivity if category is not None else None
    if not cov.active_on(today):
        return _DENIALS[Reason.CONVENANT_INACTIVE, sensitivity]
    case = req.case
    if (
        req.token_purpose not in cov.purposes
        or case.convenant != req.token_covenant
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
    if category.needs_consent:
        if not _covered(cov, category, req):
            if req.consent_refused:
                return _DENIALS[Reason.CONSENT_REFUSED, sensitivity]
            return _NEEDS_CONSENT
        if req.consent_fields is not None:
            fields = fields & req.consent_fields
    ground: str | None = None
    needed = cov.required_grounds.get(
        (req.token_purpose, req.requester_party, req.source_party, req.category)
    )
    required = needed.get(case.phase) if needed is not None else None
    if required:
        wanted = sorted(required)
        ground = next(
            (g.id for g in req.grounds for want in wanted if meets(want, g.kind, g.article)),
            None,
        )
        if ground is None:
            return _DENIALS[Reason.GROUND_REQUIRED, sensitivity]
    return Decision(Outcome.PERMIT, Reason.PERMITTED, fields, sensitivity, ground)


def _covered(cov: CompiledCovenant, category: CompiledCategory, req: DecisionRequest) -> bool:
    """A consent covers only if granted by whom ``agreement_required_from`` names."""
    if not req.has_covering_consent:
        return False
    decider = req.consent_decided_by
    return decider is None or cov.competent(decider, category.id)
