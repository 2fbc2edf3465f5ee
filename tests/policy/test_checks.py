"""One test per cross-check: each broken covenant yields its problem, with file and line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.policy import check_dir, load_policy_dir
from gateway.policy.errors import Finding
from tests.policy.conftest import DEMO, REPO_POLICIES

WriteDemo = Callable[[Callable[[dict[str, Any]], None]], Path]


def _rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in data["rules"] if r.get("id") == rule_id)
    return rule


def _category(data: dict[str, Any], category_id: str) -> dict[str, Any]:
    category: dict[str, Any] = next(c for c in data["categories"] if c["id"] == category_id)
    return category


def _party(data: dict[str, Any], party_id: str) -> dict[str, Any]:
    party: dict[str, Any] = next(p for p in data["parties"] if p["id"] == party_id)
    return party


def _line_of(path: Path, needle: str, *after: str | None) -> int:
    """1-based line of ``needle``, searched after each ``after`` marker in turn.

    A marker ending in ``$`` must end the line.
    """
    lines = path.read_text(encoding="utf-8").splitlines()

    def matches(marker: str, line: str) -> bool:
        return line.endswith(marker[:-1]) if marker.endswith("$") else marker in line

    start = 0
    for marker in (*after, needle):
        if marker is not None:
            start = next(i for i in range(start, len(lines)) if matches(marker, lines[i]))
    return start + 1


def _only(problems: list[Finding], fragment: str) -> Finding:
    matching = [p for p in problems if fragment in p.message]
    assert len(matching) == 1, problems
    return matching[0]


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str, str | None]] = [
    # (name, change, message fragment, line needle, needle is searched after this text)
    (
        "unknown role as recipient",
        lambda d: _rule(d, "psychisch-welzijn")["recipients"].append("wijkagent"),
        "'wijkagent' is neither a party id nor a role",
        "- wijkagent",
        None,
    ),
    (
        "unknown party as source",
        lambda d: _rule(d, "psychisch-welzijn")["sources"].append("ggz-elders"),
        "'ggz-elders' is neither a party id nor a role",
        "- ggz-elders",
        None,
    ),
    (
        "unknown category in a rule",
        lambda d: _rule(d, "psychisch-welzijn")["categories"].append("slachtofferbeeld"),
        "category 'slachtofferbeeld' is not in this covenant",
        "- slachtofferbeeld",
        None,
    ),
    (
        "unknown purpose in a rule",
        lambda d: _rule(d, "psychisch-welzijn").update(purpose="opsporing"),
        "unknown purpose 'opsporing'",
        "purpose: opsporing",
        None,
    ),
    (
        "duplicate party",
        lambda d: d["parties"].append(dict(_party(d, "om-demo"), name="OM kopie")),
        "duplicate parties id 'om-demo'",
        "- id: om-demo",
        "- id: fg-demo",
    ),
    (
        "duplicate category",
        lambda d: d["categories"].append(dict(_category(d, "detentie"))),
        "duplicate categories id 'detentie'",
        "- id: detentie",
        "- id: jeugd_gezinssituatie",
    ),
    (
        "duplicate purpose",
        lambda d: d["purposes"].append(dict(d["purposes"][0])),
        "duplicate purposes id 'zvh-triage'",
        "- id: zvh-triage",
        "- id: pga-casusoverleg",
    ),
    (
        "controller not a party",
        lambda d: d.update(controller="provincie-demo"),
        "controller 'provincie-demo' is not a party",
        "controller:",
        None,
    ),
    (
        "case opening role nobody holds",
        lambda d: d.update(case_opening_roles=["procesregie", "wethouder"]),
        "no party holds case-opening role 'wethouder'",
        "- wethouder",
        None,
    ),
    (
        "category not in the catalogue",
        lambda d: d["categories"].append(
            {"id": "vingerafdrukken", "sensitivity": "bijzonder", "fields": ["hash"]}
        ),
        "category 'vingerafdrukken' is not in the catalogue",
        "id: vingerafdrukken",
        None,
    ),
    (
        "field not in the catalogue",
        lambda d: _category(d, "huisvesting")["fields"].append("sleutelkluis_code"),
        "field(s) sleutelkluis_code not in the catalogue",
        "fields:",
        "- id: huisvesting",
    ),
    (
        "sensitivity lower than the catalogue",
        lambda d: _category(d, "justitiele_gegevens").update(sensitivity="gewoon"),
        "sensitivity gewoon is lower than the catalogue's strafrechtelijk",
        "sensitivity: gewoon",
        "- id: justitiele_gegevens",
    ),
    (
        "valid_until before valid_from",
        lambda d: d.update(valid_until="2025-12-31"),
        "valid_until lies before valid_from",
        "valid_until:",
        None,
    ),
    (
        "Wjsg log retention too short",
        lambda d: _category(d, "detentie").update(log_retention="P3Y"),
        "shorter than the Wjsg art. 39j minimum of P4Y",
        "log_retention: P3Y",
        None,
    ),
    (
        "retention period beyond a century (a run once stopped on OverflowError)",
        lambda d: d["retention"].update(after_last_contact="P250Y"),
        "after_last_contact P250Y exceeds the maximum of P100Y",
        "after_last_contact: P250Y",
        None,
    ),
    (
        "log retention beyond a century",
        lambda d: _category(d, "detentie").update(log_retention="P999Y"),
        "log_retention P999Y exceeds the maximum of P100Y",
        "log_retention: P999Y",
        None,
    ),
    (
        "rights deadline beyond the AVG month",
        lambda d: d["rights"].update(inzage="P6W"),
        "inzage deadline P6W exceeds the AVG art. 12 month",
        "inzage: P6W",
        None,
    ),
    (
        "rule fields outside its categories",
        lambda d: _rule(d, "triage-justitie")["fields"].append("diagnose_samenvatting"),
        "field 'diagnose_samenvatting' is in none of the rule's categories",
        "- diagnose_samenvatting",
        "id: triage-justitie",
    ),
    (
        "source holds a category the covenant lacks",
        lambda d: _party(d, "dji-demo")["source"]["categories"].append("slachtofferbeeld"),
        "source holds 'slachtofferbeeld'",
        "categories:",
        "base_url: http://127.0.0.1:9107",
    ),
    (
        "sql query that is more than one SELECT",
        lambda d: _party(d, "dji-demo").update(
            source={
                "type": "sql",
                "url": "sqlite:///bron.db",
                "queries": {"detentie": "SELECT id FROM t WHERE bsn = :bsn; DROP TABLE t"},
            }
        ),
        "query for 'detentie': one statement without comments",
        "detentie: SELECT",
        "- id: dji-demo",
    ),
    (
        "recipient without keys",
        lambda d: _party(d, "raad-demo").pop("jwks_file"),
        "party 'raad-demo' uses the API but has no jwks",
        "- id: raad-demo",
        None,
    ),
    # An id the API refuses (eight digits in a row: an OIN, a date, a BSN) never loads.
    (
        "OIN-like party id",
        lambda d: d["parties"].append(
            {"id": "oin-00000001823288444000", "name": "Gemeente met OIN", "roles": ["gemeente"]}
        ),
        "an id holds no eight or more digits in a row",
        "- id: oin-00000001823288444000",
        None,
    ),
    (
        "covenant id holding a grouped BSN",
        lambda d: d.update(id="zvh-999-990-081"),
        "id: an id holds no eight or more digits in a row",
        "id: zvh-999-990-081",
        None,
    ),
    (
        "category id holding a date",
        lambda d: _category(d, "huisvesting").update(id="huisvesting_20260101"),
        "an id holds no eight or more digits in a row",
        "- id: huisvesting_20260101",
        None,
    ),
    (
        "purpose id holding a date",
        lambda d: d["purposes"][0].update(id="zvh-triage-2026-01-01"),
        "an id holds no eight or more digits in a row",
        "- id: zvh-triage-2026-01-01",
        None,
    ),
    (
        "agreement from an unknown role",
        lambda d: _category(d, "detentie").update(agreement_required_from=["rechter"]),
        "unknown role or party 'rechter'",
        "- rechter",
        None,
    ),
]


@pytest.mark.parametrize(
    ("change", "fragment", "needle", "after"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_cross_check(
    policy_dir: Path,
    write_demo: WriteDemo,
    change: Callable[[dict[str, Any]], None],
    fragment: str,
    needle: str,
    after: str | None,
) -> None:
    demo = write_demo(change)
    problem = _only(check_dir(policy_dir, require_keys=False), fragment)
    assert problem.severity == "error"
    assert problem.file == demo
    assert problem.line == _line_of(demo, needle, after)


def test_all_problems_of_all_files_are_reported(policy_dir: Path, write_demo: WriteDemo) -> None:
    def break_three(data: dict[str, Any]) -> None:
        data["controller"] = "nobody"
        _rule(data, "justitie")["recipients"].append("spion")
        data["valid_until"] = "2020-01-01"

    write_demo(break_three)
    second = policy_dir / "tweede.yaml"
    shutil.copy(REPO_POLICIES / DEMO, second)
    second.write_text(
        second.read_text(encoding="utf-8").replace("retention:\n", "retentie:\n"), encoding="utf-8"
    )
    problems = check_dir(policy_dir, require_keys=False)
    errors = [p for p in problems if p.severity == "error"]
    assert {p.file.name for p in errors} == {DEMO, "tweede.yaml"}
    assert len([p for p in errors if p.file.name == DEMO]) == 3


def test_duplicate_covenant_id_across_files(policy_dir: Path) -> None:
    shutil.copy(REPO_POLICIES / DEMO, policy_dir / "zz-kopie.yaml")
    problem = _only(check_dir(policy_dir, require_keys=False), "covenant id 'zvh-demo' is also")
    assert problem.file == policy_dir / "zz-kopie.yaml"


def test_source_without_configuration_is_a_warning(
    policy_dir: Path,
    write_demo: WriteDemo,
) -> None:
    demo = write_demo(lambda d: _rule(d, "justitie")["sources"].append("om"))
    problem = _only(check_dir(policy_dir, require_keys=False), "source 'om-demo' has no source")
    assert problem.severity == "warning"
    assert problem.line == _line_of(demo, "- om$", "- id: justitie$", "sources:")
    policy_set = load_policy_dir(policy_dir, require_keys=False)
    assert policy_set.warnings == (problem,)


def test_unreadable_trust_file_is_an_error_even_without_require_keys(
    policy_dir: Path,
    trust_keys: object,
) -> None:
    trust = policy_dir.parent / "keys" / "trust"
    (trust / "om-demo.json").write_text("{not json", encoding="utf-8")
    (trust / "ggz-demo.json").write_text('{"keys": [{"kty": "OKP", "crv": "X"}]}', encoding="utf-8")
    problems = check_dir(policy_dir, require_keys=False)
    assert len(problems) == 2
    assert all(p.severity == "error" for p in problems)
    unreadable = _only(problems, "trust file unreadable")
    assert "om-demo.json" in unreadable.message
    _only(problems, "not a usable JWKS")


def test_privacy_officer_without_keys_is_only_a_warning(
    policy_dir: Path,
    write_demo: WriteDemo,
) -> None:
    write_demo(lambda d: _party(d, "fg-demo").pop("jwks_file"))
    problem = _only(check_dir(policy_dir, require_keys=False), "'fg-demo' uses the API")
    assert problem.severity == "warning"
