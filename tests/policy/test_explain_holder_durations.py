"""explain(), hot reload through PolicyHolder, and ISO 8601 durations."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from gateway.policy import (
    CaseView,
    DecisionRequest,
    DurationError,
    PolicyError,
    PolicyHolder,
    compile_policy,
    decide,
    explain,
    load_policy_dir,
    parse_duration,
)
from gateway.policy.decision import RecordedGround
from gateway.policy.grounds import requirement_kind
from tests.policy.conftest import DEMO

TODAY = date(2026, 11, 23)
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_explain_lists_what_a_party_receives_per_phase() -> None:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    result = explain(policy, "zvh-demo", "reclassering-demo", "pga-casusoverleg", TODAY)
    assert result.active_today and result.known
    casusoverleg = {(p.source, p.category): p for p in result.phases["casusoverleg"]}
    ggz = casusoverleg[("ggz-demo", "psychisch_welzijn")]
    assert ggz.sensitivity == "bijzonder" and not ggz.consent_required
    assert casusoverleg[("politie-demo", "justitiele_gegevens")].consent_required
    assert result.phases["triage"] == ()
    nazorg = {(p.source, p.category): p.fields for p in result.phases["nazorg"]}
    assert nazorg[("dji-demo", "detentie")] == ("einddatum_detentie",)
    assert result.as_dict()["phases"]["nazorg"]  # type: ignore[index]


def test_explain_agrees_with_decide() -> None:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    for party in ("gemeente-demo", "veiligthuis-demo", "woningcorporatie-demo"):
        result = explain(policy, "zvh-demo", party, "pga-casusoverleg", TODAY)
        for phase, permissions in result.phases.items():
            # Per subject role since household cases: a permission names the roles it covers.
            for permission in permissions:
                assert permission.subject_roles
                for role in permission.subject_roles:
                    case = CaseView(
                        "zvh-demo", "pga-casusoverleg", phase, "open", frozenset({party}), role
                    )
                    decision = decide(
                        policy,
                        TODAY,
                        DecisionRequest(
                            "zvh-demo",
                            "pga-casusoverleg",
                            party,
                            case,
                            permission.source,
                            permission.category,
                            has_covering_consent=True,
                            grounds=tuple(
                                RecordedGround(
                                    f"g-{i}", requirement_kind(want), want.partition(":")[2]
                                )
                                for i, want in enumerate(permission.grounds_required)
                            ),
                        ),
                    )
                    assert decision.permitted
                    assert decision.fields == frozenset(permission.fields)


def test_explain_says_why_nothing_is_given() -> None:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    result = explain(policy, "zvh-demo", "fg-demo", "pga-casusoverleg", TODAY)
    assert not any(result.phases.values())
    assert any("no rule" in note for note in result.notes)
    assert not explain(policy, "zvh-elders", "fg-demo", "x", TODAY).known
    later = explain(policy, "zvh-demo", "gemeente-demo", "pga-casusoverleg", date(2031, 1, 1))
    assert any("not active" in note for note in later.notes)


def test_reload_keeps_the_old_policy_when_the_new_files_are_invalid(policy_dir: Path) -> None:
    holder = PolicyHolder(policy_dir, require_keys=False)
    before = holder.current
    demo = policy_dir / DEMO
    good_text = demo.read_text(encoding="utf-8")
    demo.write_text(
        good_text.replace("controller: gemeente-demo", "controller: niemand"), encoding="utf-8"
    )
    problems = holder.reload()
    assert any("controller 'niemand'" in p.message for p in problems)
    assert holder.current is before
    demo.write_text(
        good_text.replace("title: Convenant", "title: Nieuw convenant"), encoding="utf-8"
    )
    assert holder.reload() == []
    assert holder.current is not before
    covenant = holder.current.covenant("zvh-demo")
    assert covenant is not None and covenant.title.startswith("Nieuw convenant")


def test_holder_refuses_to_start_on_an_invalid_directory(policy_dir: Path) -> None:
    (policy_dir / "catalogue.yaml").unlink()
    with pytest.raises(PolicyError):
        PolicyHolder(policy_dir, require_keys=False)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("P1M", date(2026, 1, 31), date(2026, 2, 28)),
        ("P1M", date(2028, 1, 31), date(2028, 2, 29)),
        ("P2Y", date(2028, 2, 29), date(2030, 2, 28)),
        ("P14D", date(2026, 12, 25), date(2027, 1, 8)),
        ("P1Y2M3W4D", date(2026, 1, 1), date(2027, 3, 26)),
    ],
)
def test_durations_are_calendar_periods(text: str, start: date, end: date) -> None:
    assert parse_duration(text).add_to(start) == end


def test_duration_time_parts_and_round_trip() -> None:
    duration = parse_duration("P1DT12H30M")
    assert duration.add_to(datetime(2026, 3, 1, 0, 0)) == datetime(2026, 3, 2, 12, 30)
    assert str(duration) == "P1DT12H30M"
    assert str(parse_duration("P0D")) == "P0D"


def test_duration_comparison_for_legal_minimums() -> None:
    assert parse_duration("P4Y").at_least(parse_duration("P48M"))
    assert parse_duration("P1461D").at_least(parse_duration("P4Y"))
    assert not parse_duration("P1460D").at_least(parse_duration("P4Y"))
    assert parse_duration("P31D").at_least(parse_duration("P1M"))
    assert not parse_duration("P30D").at_least(parse_duration("P1M"))


@pytest.mark.parametrize("bad", ["P", "PT", "2Y", "P1.5Y", "P-1D", "p1d", "P1H", "P1Y ", ""])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(bad)
