"""The policy decision: permit, deny (with the first failing condition) or needs_consent.

Deny by default. The conditions are checked in POLICY.md's order and the
first failing one is the reason; the reasons are part of the API (API.md §3)
and of the audit log, so they live in one enum. The function is pure: the
caller supplies what only it knows (the case, whether a covering OvJ consent
exists and who gave it, whether a refusal stands, whether a *verzet* is pending
or granted, and the legal grounds recorded for the subject).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

from gateway.policy.compiled import CompiledPolicy
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
    """``fields`` is empty unless permitted; ``sensitivity`` is known once the category is.

    ``permitted`` is stored, not a property: a query reads it for every (source,
    category) in several places (plan, fan-out, result, copies), and decisions are
    made far less often than read (denials are shared constants).
    """

    outcome: Outcome
    reason: Reason
    fields: frozenset[str]
    sensitivity: Sensitivity | None
    ground: str | None = None  # the recorded ground the permit rests on, if a rule required one
    permitted: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "permitted", self.outcome is Outcome.PERMIT)


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
    return Decider.of_request(policy, today, req).decide(
        req.source_party,
        req.category,
        has_covering_consent=req.has_covering_consent,
        objection_active=req.objection_active,
        consent_decided_by=req.consent_decided_by,
        consent_fields=req.consent_fields,
        consent_refused=req.consent_refused,
        grounds=req.grounds,
    )


class Decider:
    """:func:`decide` for the many (source, category) pairs of one query.

    A query asks for a decision per (source, category); the token, the case and
    the day are the same for all of them. The conditions that depend only on
    those (covenant in force, purpose, participation, case open: POLICY.md 1-3)
    are checked once here, and each :meth:`decide` checks the rest in the same
    order, so every pair gets exactly what :func:`decide` would give it. Equal
    permits are shared (decisions are immutable).
    """

    __slots__ = ("_case", "_case_denial", "_cov", "_permits", "_purpose", "_requester")

    def __init__(
        self,
        policy: CompiledPolicy,
        today: date,
        *,
        token_covenant: str,
        token_purpose: str,
        requester_party: str,
        case: CaseView,
    ) -> None:
        cov = policy.covenants.get(token_covenant)
        self._cov = cov
        self._case = case
        self._purpose = token_purpose
        self._requester = requester_party
        self._permits: dict[tuple[frozenset[str], Sensitivity, str | None], Decision] = {}
        # The first failing condition that does not depend on source or category.
        denial: Reason | None = None
        if cov is None or not cov.active_on(today):
            denial = Reason.CONVENANT_INACTIVE
        elif (
            token_purpose not in cov.purposes
            or case.convenant != token_covenant
            or case.purpose != token_purpose
        ):
            denial = Reason.PURPOSE_MISMATCH
        elif requester_party not in case.participants:
            denial = Reason.NOT_PARTICIPANT
        elif case.status != "open":
            denial = Reason.CASE_CLOSED
        self._case_denial = denial

    @classmethod
    def of_request(cls, policy: CompiledPolicy, today: date, req: DecisionRequest) -> Decider:
        """The decider for ``req``'s token and case (its source and category aside)."""
        return cls(
            policy,
            today,
            token_covenant=req.token_covenant,
            token_purpose=req.token_purpose,
            requester_party=req.requester_party,
            case=req.case,
        )

    def decide(
        self,
        source_party: str,
        category_id: str,
        *,
        has_covering_consent: bool = False,
        objection_active: bool = False,
        consent_decided_by: str | None = None,
        consent_fields: frozenset[str] | None = None,
        consent_refused: bool = False,
        grounds: tuple[RecordedGround, ...] = (),
    ) -> Decision:
        """The decision for one (source, category); the arguments as in :class:`DecisionRequest`."""
        cov = self._cov
        if cov is None:
            return _DENIALS[Reason.CONVENANT_INACTIVE, None]
        category = cov.categories.get(category_id)
        sensitivity = category.sensitivity if category is not None else None
        if self._case_denial is not None:
            return _DENIALS[self._case_denial, sensitivity]
        if source_party not in cov.parties:
            return _DENIALS[Reason.UNKNOWN_SOURCE, sensitivity]
        key = (self._purpose, self._requester, source_party, category_id)
        by_phase = cov.grants.get(key)
        if by_phase is None:
            return _DENIALS[Reason.NO_RULE, sensitivity]
        case = self._case
        if case.phase not in by_phase:
            return _DENIALS[Reason.PHASE, sensitivity]
        # Condition 7's subject role is part of the rule match: a subject no rule covers
        # is refused here, before a verzet or an OvJ request could be about them.
        fields = cov.role_grants[key].get((case.phase, case.subject_role))
        if fields is None:
            return _DENIALS[Reason.SUBJECT_ROLE, sensitivity]
        if category is None:
            return _DENIALS[Reason.UNKNOWN_CATEGORY, None]
        # A verzet comes before consent (POLICY.md condition 6 "checked before 5"): an
        # objection must never open an OvJ request about the person who objected.
        if objection_active:
            return _DENIALS[Reason.OBJECTION, category.sensitivity]
        if category.needs_consent:
            covered = has_covering_consent and (
                consent_decided_by is None or cov.competent(consent_decided_by, category.id)
            )
            if not covered:  # a consent covers only if granted by whom it must be
                if consent_refused:
                    return _DENIALS[Reason.CONSENT_REFUSED, category.sensitivity]
                return _NEEDS_CONSENT
            if consent_fields is not None:
                fields = fields & consent_fields
        ground: str | None = None
        needed = cov.required_grounds.get(key)
        required = needed.get(case.phase) if needed is not None else None
        if required:
            wanted = sorted(required)
            ground = next(
                (g.id for g in grounds for want in wanted if meets(want, g.kind, g.article)),
                None,
            )
            if ground is None:
                return _DENIALS[Reason.GROUND_REQUIRED, category.sensitivity]
        memo = (fields, category.sensitivity, ground)
        permit = self._permits.get(memo)
        if permit is None:
            permit = self._permits[memo] = Decision(
                Outcome.PERMIT, Reason.PERMITTED, fields, category.sensitivity, ground
            )
        return permit
