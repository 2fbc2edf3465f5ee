"""`policy check` and `policy explain` know the optional ZVH workflow blocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway.policy import check_dir, load_policy_dir
from gateway.policy.compiled import compile_policy
from gateway.policy.explain import explain

WriteDemo = Callable[[Callable[[dict[str, Any]], None]], Path]
TODAY = date(2027, 6, 1)


def _rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in data["rules"] if r.get("id") == rule_id)
    return rule


def _errors(policy_dir: Path) -> list[str]:
    return [p.message for p in check_dir(policy_dir, require_keys=False) if p.severity == "error"]


def _warnings(policy_dir: Path) -> list[str]:
    return [p.message for p in check_dir(policy_dir, require_keys=False) if p.severity == "warning"]


def test_the_demo_workflow_is_clean(policy_dir: Path, write_demo: WriteDemo) -> None:
    write_demo(lambda d: None)
    assert _errors(policy_dir) == []
    assert not [w for w in _warnings(policy_dir) if "phase" in w]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["referral_roles"].append("buurman"), "'buurman' is neither a party id"),
        (
            lambda d: d["subject_roles"].remove("hoofdpersoon"),
            "subject_roles must include 'hoofdpersoon'",
        ),
        (
            lambda d: _rule(d, "slachtoffer-veiligheid")["subject_roles"].append("buurman"),
            "subject role 'buurman' is not in the covenant's subject_roles",
        ),
        (
            lambda d: d["phases"]["transitions"].pop("nazorg"),
            "a case moved to 'nazorg' could never move on or close",
        ),
        (
            lambda d: d["phases"]["initial"].remove("aanmelding"),
            "referral_roles needs aanmelding in phases.initial",
        ),
        (
            lambda d: d.pop("phases"),
            "referral_roles needs a phases block",
        ),
    ],
)
def test_workflow_errors(
    policy_dir: Path, write_demo: WriteDemo, change: Callable[[dict[str, Any]], None], fragment: str
) -> None:
    write_demo(change)
    assert [e for e in _errors(policy_dir) if fragment in e], _errors(policy_dir)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["phases"]["initial"].remove("signalering"), "cannot be reached"),
        (
            lambda d: (d.pop("phases"), d.pop("referral_roles")),
            "no phases block",
        ),
    ],
)
def test_workflow_warnings(
    policy_dir: Path, write_demo: WriteDemo, change: Callable[[dict[str, Any]], None], fragment: str
) -> None:
    write_demo(change)
    assert _errors(policy_dir) == []
    assert [w for w in _warnings(policy_dir) if fragment in w], _warnings(policy_dir)


def test_the_schema_refuses_bad_workflow_keys(policy_dir: Path, write_demo: WriteDemo) -> None:
    for change in (
        lambda d: d["phases"]["transitions"].update({"klaar": ["afgesloten"]}),
        lambda d: d["phases"]["transitions"]["nazorg"].append("hemel"),
        lambda d: d.update({"case_types": ["PGA"]}),
        lambda d: _rule(d, "justitie").update({"requires_ground": ["omdat_het_kan"]}),
        lambda d: d["phases"].update({"initieel": ["triage"]}),
    ):
        write_demo(change)
        assert _errors(policy_dir), change


def test_explain_names_subject_roles_and_the_workflow(
    policy_dir: Path, write_demo: WriteDemo
) -> None:
    write_demo(lambda d: None)
    policy = compile_policy(load_policy_dir(policy_dir, require_keys=False))
    veilig_thuis = explain(policy, "zvh-demo", "veiligthuis-demo", "pga-casusoverleg", TODAY)
    victims = [
        p for p in veilig_thuis.phases["uitvoering"] if p.category == "huiselijk_geweld_signalen"
    ]
    assert [p.subject_roles for p in victims] == [("slachtoffer",)]
    assert any("may refer a person" in note for note in veilig_thuis.notes)
    procesregie = explain(policy, "zvh-demo", "gemeente-demo", "pga-casusoverleg", TODAY)
    assert any("may open cases" in note for note in procesregie.notes)
    assert any(note.startswith("phase transitions: aanmelding -> ") for note in procesregie.notes)
    assert "aanmelding" in procesregie.as_dict()["phases"]  # type: ignore[operator]
