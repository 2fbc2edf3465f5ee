"""Loading covenant files: the demo loads, broken files are reported with file and line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import rfc8785

from gateway.policy import PolicyError, check_dir, load_policy_dir
from tests.policy.conftest import DEMO, demo_data, write_yaml


def _line_containing(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_repository_demo_loads_without_keys() -> None:
    policy_set = load_policy_dir(
        Path(__file__).resolve().parents[2] / "policies", require_keys=False
    )
    (covenant,) = policy_set.covenants
    assert covenant.id == "zvh-demo"
    assert {p.id for p in covenant.purposes} == {"zvh-triage", "pga-casusoverleg"}
    assert len(covenant.parties) == 15  # 13 partners, the burgemeester and the stuurgroep
    assert policy_set.warnings == ()


def test_demo_loads_with_keys_and_resolves_trust_files(
    policy_dir: Path,
    trust_keys: object,
) -> None:
    policy_set = load_policy_dir(policy_dir)
    covenant = policy_set.covenants[0]
    politie = covenant.party("politie-demo")
    assert politie is not None and politie.jwks_file is not None
    assert politie.jwks_file == (policy_dir.parent / "keys/trust/politie-demo.json").resolve()
    document = politie.jwks_document()
    assert document is not None and document["keys"][0]["kty"] == "OKP"
    assert politie.source is not None and politie.source.type == "rest"
    assert check_dir(policy_dir) == []


def test_missing_trust_files_are_problems_in_check_mode(policy_dir: Path) -> None:
    problems = check_dir(policy_dir)
    assert len(problems) == 15
    assert all("trust file" in p.message and "missing" in p.message for p in problems)
    demo = policy_dir / DEMO
    assert problems[0].file == demo
    assert problems[0].line == _line_containing(demo, "jwks_file: ../keys/trust/gemeente-demo.json")
    with pytest.raises(PolicyError) as raised:
        load_policy_dir(policy_dir, require_keys=True)
    assert len(raised.value.problems) == 15


def test_yaml_syntax_error_names_file_and_line(policy_dir: Path) -> None:
    demo = policy_dir / DEMO
    lines = demo.read_text(encoding="utf-8").splitlines()
    target = _line_containing(demo, "controller: gemeente-demo")
    lines[target - 1] = "controller: [gemeente-demo"
    demo.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy_dir(policy_dir, require_keys=False)
    (problem,) = raised.value.problems
    assert problem.file == demo
    assert problem.line is not None and problem.line >= target
    assert "not valid YAML" in problem.message


def test_schema_error_points_at_the_offending_line(policy_dir: Path) -> None:
    demo = policy_dir / DEMO
    text = demo.read_text(encoding="utf-8")
    demo.write_text(
        text.replace(
            "sensitivity: bijzonder\n    fields: [diagnose_samenvatting",
            "sensitivity: geheim\n    fields: [diagnose_samenvatting",
        ),
        encoding="utf-8",
    )
    (problem,) = check_dir(policy_dir, require_keys=False)
    assert problem.file == demo
    assert problem.line == _line_containing(demo, "sensitivity: geheim")
    assert "gewoon, bijzonder, strafrechtelijk" in problem.message


def test_every_schema_error_is_reported_with_its_own_line(policy_dir: Path) -> None:
    demo = policy_dir / DEMO
    text = demo.read_text(encoding="utf-8")
    text = text.replace("  correctie: P14D", "  correctie: 14 dagen")
    text = text.replace(
        "    phases: [nazorg]\n    recipients: [procesregie, reclassering]\n    sources: [dji]",
        "    phases: [nazorg]\n    recipient: [procesregie, reclassering]\n    sources: [dji]",
    )
    demo.write_text(text, encoding="utf-8")
    problems = check_dir(policy_dir, require_keys=False)
    by_line = {p.line: p.message for p in problems}
    assert "ISO 8601" in by_line[_line_containing(demo, "correctie: 14 dagen")]
    assert "'recipient'" in by_line[_line_containing(demo, "recipient: [")]
    assert any("'recipients' is a required property" in p.message for p in problems)


def test_duplicate_yaml_key_is_an_error(policy_dir: Path) -> None:
    demo = policy_dir / DEMO
    text = demo.read_text(encoding="utf-8")
    demo.write_text(
        text.replace(
            "controller: gemeente-demo\n", "controller: gemeente-demo\ncontroller: politie-demo\n"
        ),
        encoding="utf-8",
    )
    (problem,) = check_dir(policy_dir, require_keys=False)
    assert problem.line == _line_containing(demo, "controller: politie-demo")
    assert "duplicate key 'controller'" in problem.message


def test_yaml_1_1_booleans_stay_text(policy_dir: Path) -> None:
    data = demo_data()
    data["title"] = "no"
    write_yaml(policy_dir / DEMO, data)
    demo = policy_dir / DEMO
    demo.write_text(
        demo.read_text(encoding="utf-8").replace("title: 'no'", "title: no"), encoding="utf-8"
    )
    policy_set = load_policy_dir(policy_dir, require_keys=False)
    assert policy_set.covenants[0].title == "no"


def test_unknown_top_level_keys_are_allowed_but_not_in_rules(policy_dir: Path) -> None:
    data = demo_data()
    data["contact"] = {"email": "zvh@example.org"}
    data["rules"][0]["x-note"] = "extension keys are fine"
    write_yaml(policy_dir / DEMO, data)
    assert check_dir(policy_dir, require_keys=False) == []
    data["rules"][0]["except"] = ["politie"]
    write_yaml(policy_dir / DEMO, data)
    (problem,) = check_dir(policy_dir, require_keys=False)
    assert "unknown key(s) 'except'" in problem.message
    assert problem.line == _line_containing(policy_dir / DEMO, "except:")


def test_covenant_version_is_rfc8785_sha256_without_signatures(policy_dir: Path) -> None:
    version = load_policy_dir(policy_dir, require_keys=False).covenants[0].covenant_version
    data = demo_data()
    assert version == hashlib.sha256(rfc8785.dumps(data)).hexdigest()
    data["signatures"] = []
    write_yaml(policy_dir / DEMO, data)  # different YAML layout, same content
    assert load_policy_dir(policy_dir, require_keys=False).covenants[0].covenant_version == version
    data["title"] += " (gewijzigd)"
    write_yaml(policy_dir / DEMO, data)
    assert load_policy_dir(policy_dir, require_keys=False).covenants[0].covenant_version != version


def test_catalogue_problems_are_reported(policy_dir: Path) -> None:
    catalogue = policy_dir / "catalogue.yaml"
    text = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(
        text.replace("  - id: zorgverzekering", "  - id: identiteitsbewijs"), encoding="utf-8"
    )
    problems = check_dir(policy_dir, require_keys=False)
    assert any(
        p.file == catalogue and "duplicate category 'identiteitsbewijs'" in p.message
        for p in problems
    )
    (policy_dir / "catalogue.yaml").unlink()
    problems = check_dir(policy_dir, require_keys=False)
    assert [p.message for p in problems] == ["the category catalogue is missing"]


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    assert "does not exist" in check_dir(tmp_path / "nope")[0].message
    (tmp_path / "empty").mkdir()
    messages = [p.message for p in check_dir(tmp_path / "empty")]
    assert "the category catalogue is missing" in messages
    assert any("no covenant" in m for m in messages)
