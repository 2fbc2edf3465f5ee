"""Each decision outcome and reason on the demo covenant, in POLICY.md's order."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from gateway.policy import (
    CaseView,
    CompiledPolicy,
    DecisionRequest,
    Outcome,
    Reason,
    compile_policy,
    decide,
    load_policy_dir,
)
from gateway.policy.decision import RecordedGround

TODAY = date(2026, 11, 23)
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))


CASE = CaseView(
    convenant="zvh-demo",
    purpose="pga-casusoverleg",
    phase="casusoverleg",
    status="open",
    participants=frozenset({"gemeente-demo", "reclassering-demo", "ggz-demo", "politie-demo"}),
)
# reclassering asks GGZ for psychisch_welzijn during the casusoverleg: permitted, since
# the person's consent is recorded (the demo covenant's GGZ rule requires a ground).
CONSENT = RecordedGround("gr-1", "toestemming_betrokkene")
BASE = DecisionRequest(
    token_covenant="zvh-demo",
    token_purpose="pga-casusoverleg",
    requester_party="reclassering-demo",
    case=CASE,
    source_party="ggz-demo",
    category="psychisch_welzijn",
    grounds=(CONSENT,),
)


def test_permit_returns_the_category_fields(policy: CompiledPolicy) -> None:
    decision = decide(policy, TODAY, BASE)
    assert decision.outcome is Outcome.PERMIT and decision.permitted
    assert decision.reason is Reason.PERMITTED
    assert decision.fields == {"diagnose_samenvatting", "behandelaar", "in_zorg_sinds"}
    assert decision.sensitivity == "bijzonder"


def test_rule_fields_narrow_what_leaves_in_triage(policy: CompiledPolicy) -> None:
    triage = replace(CASE, purpose="zvh-triage", phase="triage")
    decision = decide(
        policy,
        TODAY,
        replace(
            BASE,
            token_purpose="zvh-triage",
            requester_party="gemeente-demo",
            case=triage,
            source_party="woningcorporatie-demo",
            category="huisvesting",
        ),
    )
    assert decision.permitted
    assert decision.fields == {"woonsituatie"}


REASONS: list[tuple[str, DecisionRequest, date, Reason]] = [
    (
        "unknown covenant",
        replace(BASE, token_covenant="zvh-elders"),
        TODAY,
        Reason.CONVENANT_INACTIVE,
    ),
    ("before valid_from", BASE, date(2025, 12, 31), Reason.CONVENANT_INACTIVE),
    ("after valid_until", BASE, date(2031, 1, 1), Reason.CONVENANT_INACTIVE),
    (
        "purpose not in covenant",
        replace(BASE, token_purpose="opsporing"),
        TODAY,
        Reason.PURPOSE_MISMATCH,
    ),
    (
        "token purpose differs from the case's",
        replace(BASE, token_purpose="zvh-triage"),
        TODAY,
        Reason.PURPOSE_MISMATCH,
    ),
    (
        "case of another covenant",
        replace(BASE, case=replace(CASE, convenant="zvh-elders")),
        TODAY,
        Reason.PURPOSE_MISMATCH,
    ),
    (
        "requester not in the case",
        replace(BASE, requester_party="verslavingszorg-demo"),
        TODAY,
        Reason.NOT_PARTICIPANT,
    ),
    ("case closed", replace(BASE, case=replace(CASE, status="closed")), TODAY, Reason.CASE_CLOSED),
    ("source not a party", replace(BASE, source_party="ggz-elders"), TODAY, Reason.UNKNOWN_SOURCE),
    (
        "rule exists for another phase",
        replace(BASE, case=replace(CASE, phase="nazorg")),
        TODAY,
        Reason.PHASE,
    ),
    (
        "GGZ data not for politie",
        replace(BASE, requester_party="politie-demo"),
        TODAY,
        Reason.NO_RULE,
    ),
    (
        "category not in the covenant",
        replace(BASE, category="slachtofferbeeld"),
        TODAY,
        Reason.NO_RULE,
    ),
    ("verzet pending", replace(BASE, objection_active=True), TODAY, Reason.OBJECTION),
]


@pytest.mark.parametrize(
    ("req", "today", "reason"), [case[1:] for case in REASONS], ids=[case[0] for case in REASONS]
)
def test_deny_reason(
    policy: CompiledPolicy, req: DecisionRequest, today: date, reason: Reason
) -> None:
    decision = decide(policy, today, req)
    assert decision.outcome is Outcome.DENY
    assert decision.reason is reason
    assert decision.fields == frozenset()


def test_first_failing_condition_wins(policy: CompiledPolicy) -> None:
    everything_wrong = replace(
        BASE,
        requester_party="verslavingszorg-demo",
        case=replace(CASE, status="closed"),
        source_party="nobody",
        objection_active=True,
    )
    assert decide(policy, TODAY, everything_wrong).reason is Reason.NOT_PARTICIPANT
    assert decide(policy, date(2040, 1, 1), everything_wrong).reason is Reason.CONVENANT_INACTIVE


JUSTICE = replace(
    BASE,
    requester_party="gemeente-demo",
    source_party="politie-demo",
    category="justitiele_gegevens",
)


def test_strafrechtelijk_without_consent_needs_consent(policy: CompiledPolicy) -> None:
    decision = decide(policy, TODAY, JUSTICE)
    assert decision.outcome is Outcome.NEEDS_CONSENT
    assert decision.reason is Reason.CONSENT_REQUIRED
    assert decision.fields == frozenset()
    assert decision.sensitivity == "strafrechtelijk"


def test_strafrechtelijk_with_covering_consent_is_permitted(policy: CompiledPolicy) -> None:
    decision = decide(policy, TODAY, replace(JUSTICE, has_covering_consent=True))
    assert decision.permitted
    assert decision.fields == {"lopende_zaken", "bijzondere_voorwaarden", "proeftijd_tot"}


def test_verzet_is_checked_before_consent_as_policy_md_orders(policy: CompiledPolicy) -> None:
    assert decide(policy, TODAY, replace(JUSTICE, objection_active=True)).reason is (
        Reason.OBJECTION
    )
    consented = replace(JUSTICE, objection_active=True, has_covering_consent=True)
    assert decide(policy, TODAY, consented).reason is Reason.OBJECTION


def test_roles_and_party_ids_both_match(policy: CompiledPolicy) -> None:
    # gemeente-demo receives as procesregie (a role); om is named by role in the justitie rule.
    om_case = replace(CASE, participants=CASE.participants | {"om-demo"})
    decision = decide(
        policy,
        TODAY,
        replace(JUSTICE, requester_party="om-demo", case=om_case, has_covering_consent=True),
    )
    assert decision.permitted


def test_unknown_category_when_a_rule_names_an_undeclared_category(
    policy: CompiledPolicy,
) -> None:
    covenant = policy.covenant("zvh-demo")
    assert covenant is not None
    rule = covenant.rules[0].model_copy(
        update={"categories": ("slachtofferbeeld",), "fields": None}
    )
    unchecked = CompiledPolicy([covenant.model_copy(update={"rules": (rule,)})])
    triage = replace(
        BASE,
        token_purpose="zvh-triage",
        requester_party="gemeente-demo",
        case=replace(CASE, purpose="zvh-triage", phase="triage"),
        source_party="woningcorporatie-demo",
        category="slachtofferbeeld",
    )
    decision = decide(unchecked, TODAY, triage)
    assert decision.reason is Reason.UNKNOWN_CATEGORY
    assert decision.outcome is Outcome.DENY


def test_reason_strings_are_the_api_strings() -> None:
    assert [reason.value for reason in Reason] == [
        "convenant_inactive",
        "purpose_mismatch",
        "not_participant",
        "case_closed",
        "unknown_source",
        "phase",
        "subject_role",
        "no_rule",
        "unknown_category",
        "objection",
        "consent_refused",
        "consent_required",
        "ground_required",
        "permitted",
    ]


def test_policy_lookups_for_other_capabilities(policy: CompiledPolicy) -> None:
    assert policy.is_active("zvh-demo", TODAY)
    assert not policy.is_active("zvh-demo", date(2031, 1, 1))
    assert policy.can_open_case("zvh-demo", "gemeente-demo")
    assert not policy.can_open_case("zvh-demo", "politie-demo")
    assert policy.has_role("zvh-demo", "om-demo", "om")
    assert policy.holders("zvh-demo", "psychisch_welzijn") == ("ggz-demo",)
    version = policy.covenant_version("zvh-demo")
    assert version is not None and len(version) == 64
