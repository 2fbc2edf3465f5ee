"""POLICY.md conditions 5–7 with grounds, refusals, competent authorities and granted fields.

On the demo covenant: GGZ data needs the person's consent or a documented
conflict of duties; criminal data needs a consent granted by whom the
category's ``agreement_required_from`` names, narrowed to the granted fields;
a refusal stands (``consent_refused``) instead of asking the OvJ again.
"""

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
CASE = CaseView(
    convenant="zvh-demo",
    purpose="pga-casusoverleg",
    phase="casusoverleg",
    status="open",
    participants=frozenset({"gemeente-demo", "reclassering-demo", "ggz-demo", "politie-demo"}),
)
GGZ = DecisionRequest(
    token_covenant="zvh-demo",
    token_purpose="pga-casusoverleg",
    requester_party="gemeente-demo",
    case=CASE,
    source_party="ggz-demo",
    category="psychisch_welzijn",
)
CRIMINAL = replace(GGZ, source_party="reclassering-demo", category="justitiele_gegevens")
POLICE = replace(GGZ, source_party="politie-demo", category="politie_contacten")


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))


def test_ggz_data_without_a_ground_is_denied(policy: CompiledPolicy) -> None:
    decision = decide(policy, TODAY, GGZ)
    assert (decision.outcome, decision.reason) == (Outcome.DENY, Reason.GROUND_REQUIRED)
    assert decision.fields == frozenset() and decision.ground is None


@pytest.mark.parametrize("kind", ["toestemming_betrokkene", "conflict_van_plichten"])
def test_either_required_ground_permits_and_is_named(policy: CompiledPolicy, kind: str) -> None:
    decision = decide(policy, TODAY, replace(GGZ, grounds=(RecordedGround("gr-7", kind),)))
    assert decision.permitted and decision.ground == "gr-7"


def test_a_ground_the_rule_does_not_accept_is_no_ground(policy: CompiledPolicy) -> None:
    statutory = RecordedGround("gr-8", "wettelijke_grondslag", "Wmo 2015 art. 5.2.1")
    decision = decide(policy, TODAY, replace(GGZ, grounds=(statutory,)))
    assert decision.reason is Reason.GROUND_REQUIRED


def test_a_rule_without_requires_ground_needs_none(policy: CompiledPolicy) -> None:
    housing = replace(GGZ, source_party="gemeente-demo", category="huisvesting")
    decision = decide(policy, TODAY, housing)
    assert decision.permitted and decision.ground is None


def test_a_refusal_stands_instead_of_a_new_request(policy: CompiledPolicy) -> None:
    assert decide(policy, TODAY, CRIMINAL).outcome is Outcome.NEEDS_CONSENT
    refused = decide(policy, TODAY, replace(CRIMINAL, consent_refused=True))
    assert (refused.outcome, refused.reason) == (Outcome.DENY, Reason.CONSENT_REFUSED)
    # a verzet comes first: an objection never shows as a refusal or a request
    objected = decide(policy, TODAY, replace(CRIMINAL, consent_refused=True, objection_active=True))
    assert objected.reason is Reason.OBJECTION
    # a covering consent (granted later, after a new motivation) wins over an old refusal
    granted = replace(CRIMINAL, has_covering_consent=True, consent_decided_by="om-demo")
    assert decide(policy, TODAY, replace(granted, consent_refused=True)).permitted


def test_a_consent_by_a_non_competent_authority_covers_nothing(policy: CompiledPolicy) -> None:
    by_mayor = replace(CRIMINAL, has_covering_consent=True, consent_decided_by="burgemeester-demo")
    assert decide(policy, TODAY, by_mayor).outcome is Outcome.NEEDS_CONSENT
    by_om = replace(by_mayor, consent_decided_by="om-demo")
    assert decide(policy, TODAY, by_om).permitted
    # police data (Wpg art. 20): the burgemeester or the OvJ
    for decider in ("burgemeester-demo", "om-demo"):
        police = replace(POLICE, has_covering_consent=True, consent_decided_by=decider)
        assert decide(policy, TODAY, police).permitted, decider
    by_partner = replace(POLICE, has_covering_consent=True, consent_decided_by="gemeente-demo")
    assert decide(policy, TODAY, by_partner).outcome is Outcome.NEEDS_CONSENT


def test_granted_fields_narrow_what_leaves(policy: CompiledPolicy) -> None:
    full = decide(policy, TODAY, replace(CRIMINAL, has_covering_consent=True))
    assert full.fields == {"lopende_zaken", "bijzondere_voorwaarden", "proeftijd_tot"}
    narrow = replace(
        CRIMINAL,
        has_covering_consent=True,
        consent_fields=frozenset({"lopende_zaken", "not_a_field"}),
    )
    assert decide(policy, TODAY, narrow).fields == {"lopende_zaken"}


def test_competence_and_deciders(policy: CompiledPolicy) -> None:
    covenant = policy.covenants["zvh-demo"]
    assert covenant.competent("om-demo", "justitiele_gegevens")
    assert not covenant.competent("burgemeester-demo", "justitiele_gegevens")
    assert covenant.competent("burgemeester-demo", "politie_contacten")
    assert covenant.may_decide_consents("burgemeester-demo")
    assert not covenant.may_decide_consents("reclassering-demo")
    assert "risico_geweld" in covenant.motivation_codes


def test_policy_check_warns_when_criminal_data_has_no_motivation_codes(tmp_path: Path) -> None:
    import shutil

    import yaml

    from gateway.policy.loader import check_dir

    for name in ("catalogue.yaml", "convenant.schema.json"):
        shutil.copy(REPO_POLICIES / name, tmp_path / name)
    document = yaml.safe_load((REPO_POLICIES / "demo-zvh.yaml").read_text(encoding="utf-8"))
    del document["motivation_codes"]
    document["rules"][0]["requires_ground"] = ["wettelijke_grondslag:Wmo 2015 art. 5.2.1"]
    (tmp_path / "demo-zvh.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    problems = check_dir(tmp_path, require_keys=False)
    errors = [p for p in problems if p.severity == "error" and "trust file" not in p.message]
    assert errors == [], errors
    assert any("motivation_codes" in p.message and p.severity == "warning" for p in problems), (
        problems
    )
    document["rules"][0]["requires_ground"] = ["goed_gevoel"]
    (tmp_path / "demo-zvh.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    assert any(p.severity == "error" for p in check_dir(tmp_path, require_keys=False))
