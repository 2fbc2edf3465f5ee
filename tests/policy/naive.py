"""A reference evaluator that reads POLICY.md's decision semantics literally, rule by rule.

Slow and obvious on purpose: the compiled evaluator must agree with it on
every input (see test_properties.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from gateway.policy.decision import DecisionRequest
from gateway.policy.models import Covenant, Rule

Verdict = tuple[str, str, frozenset[str], str | None]


def _names(covenant: Covenant, party_id: str) -> set[str]:
    """A party is matched by its id or any of its roles; a non-party by nothing."""
    party = covenant.party(party_id)
    return set() if party is None else {party.id, *party.roles}


def _matches_except_phase(covenant: Covenant, rule: Rule, req: DecisionRequest) -> bool:
    return (
        rule.purpose == req.token_purpose
        and bool(_names(covenant, req.requester_party) & set(rule.recipients))
        and bool(_names(covenant, req.source_party) & set(rule.sources))
        and req.category in rule.categories
    )


def naive_decide(covenants: Mapping[str, Covenant], today: date, req: DecisionRequest) -> Verdict:
    covenant = covenants.get(req.token_covenant)
    category = covenant.category(req.category) if covenant is not None else None
    sensitivity = category.sensitivity if category is not None else None

    def deny(reason: str, known: str | None = sensitivity) -> Verdict:
        return ("deny", reason, frozenset(), known)

    # 1. covenant active today, purpose in covenant, token covenant = case covenant
    if covenant is None:
        return deny("convenant_inactive", None)
    active = covenant.signatures_ok and covenant.valid_from <= today <= covenant.valid_until
    if not active:
        return deny("convenant_inactive")
    if (
        req.token_purpose not in [purpose.id for purpose in covenant.purposes]
        or req.case.convenant != req.token_covenant
        or req.case.purpose != req.token_purpose
    ):
        return deny("purpose_mismatch")
    # 2. requester participates, case open, source is a party
    if req.requester_party not in req.case.participants:
        return deny("not_participant")
    if req.case.status != "open":
        return deny("case_closed")
    if req.source_party not in [party.id for party in covenant.parties]:
        return deny("unknown_source")
    # 3. some rule has purpose, phase, recipient, source and category
    candidates = [rule for rule in covenant.rules if _matches_except_phase(covenant, rule, req)]
    permitting = [rule for rule in candidates if req.case.phase in rule.phases]
    if not permitting:
        return deny("phase" if candidates else "no_rule")
    # 4. the category is in the covenant; only its fields leave
    if category is None:
        return deny("unknown_category", None)
    fields: set[str] = set()
    for rule in permitting:
        allowed = set(category.fields)
        fields |= allowed if rule.fields is None else allowed & set(rule.fields)
    # 6. no verzet (checked before 5: a verzet never opens a consent request)
    if req.objection_active:
        return deny("objection")
    # 5. strafrechtelijk needs a covering consent
    if category.sensitivity == "strafrechtelijk" and not req.has_covering_consent:
        return ("needs_consent", "consent_required", frozenset(), "strafrechtelijk")
    return ("permit", "permitted", frozenset(fields), sensitivity)
