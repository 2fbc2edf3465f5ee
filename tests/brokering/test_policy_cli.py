"""``ketenpoort policy check|explain|sign`` and serve's refusal to start on a bad covenant."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from joserfc.jwk import ECKey, OKPKey
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.cli.policy import add_signature_entry
from gateway.policy import compile_policy, load_policy_dir
from tests.policy.conftest import DEMO, REPO_POLICIES, demo_data, generate_trust_keys

runner = CliRunner()


def _output(result: object) -> str:
    out = str(getattr(result, "output", ""))
    with contextlib.suppress(ValueError):  # older Click: stderr not captured separately
        out += str(getattr(result, "stderr", ""))
    return out


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the repository's policies with the trust files they name."""
    directory = tmp_path / "policies"
    directory.mkdir()
    for name in ("catalogue.yaml", "convenant.schema.json", DEMO):
        shutil.copy(REPO_POLICIES / name, directory / name)
    party_ids = [party["id"] for party in demo_data()["parties"]]
    generate_trust_keys(tmp_path / "keys" / "trust", party_ids)
    return directory


def _break(directory: Path) -> None:
    text = (directory / DEMO).read_text(encoding="utf-8")
    text = text.replace("    recipients: [woningcorporatie]", "    recipient: [woningcorporatie]")
    text = text.replace("controller: gemeente-demo", "controller: niemand-demo")
    text = text.replace("valid_until: 2030-12-31", "valid_until: 2030-02-31")
    (directory / DEMO).write_text(text, encoding="utf-8")


def test_check_passes_a_good_directory(policies: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(policies)])
    assert result.exit_code == 0, _output(result)
    assert "OK" in _output(result)


def test_check_lists_every_problem_with_file_and_line(policies: Path) -> None:
    _break(policies)
    result = runner.invoke(app, ["policy", "check", str(policies)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    output = _output(result)
    located = re.findall(r"demo-zvh\.yaml:(\d+)", output)
    assert len(located) >= 2, output
    assert "error" in output


def test_check_without_trust_files(policies: Path) -> None:
    shutil.rmtree(policies.parent / "keys")
    strict = runner.invoke(app, ["policy", "check", str(policies)], env={"COLUMNS": "300"})
    assert strict.exit_code == 1
    assert "gemeente-demo.json" in _output(strict) or "jwks_file" in _output(strict)
    lenient = runner.invoke(app, ["policy", "check", "--no-require-keys", str(policies)])
    assert lenient.exit_code == 0, _output(lenient)


def test_explain_shows_per_phase_what_a_party_may_receive(policies: Path) -> None:
    result = runner.invoke(
        app,
        ["policy", "explain", "--party", "gemeente-demo", "--purpose", "zvh-triage", str(policies)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, _output(result)
    output = _output(result)
    assert "phase triage" in output and "phase nazorg" in output
    assert "justitiele_gegevens" in output
    assert "lopende_zaken" in output
    assert "required" in output
    assert "bijzondere_voorwaarden" not in output  # the triage rule narrows the fields


def test_explain_refuses_an_unknown_covenant(policies: Path) -> None:
    result = runner.invoke(
        app,
        [
            "policy",
            "explain",
            "--party",
            "x",
            "--purpose",
            "y",
            "--convenant",
            "nope",
            str(policies),
        ],
    )
    assert result.exit_code == 1


def _write_private(path: Path, key: OKPKey | ECKey) -> Path:
    path.write_text(json.dumps(key.as_dict(private=True)), encoding="utf-8")
    return path


def _active(directory: Path) -> bool:
    today = datetime.now(UTC).date()
    return compile_policy(load_policy_dir(directory)).is_active("zvh-demo", today)


def test_sign_activates_a_covenant_once_every_party_signed(policies: Path) -> None:
    demo = policies / DEMO
    demo.write_text(demo.read_text(encoding="utf-8") + "require_signatures: true\n")
    party_ids = [party["id"] for party in demo_data()["parties"]]
    keys = generate_trust_keys(
        policies.parent / "keys" / "trust", party_ids, ec_parties=frozenset({"om-demo"})
    )
    assert not _active(policies)
    for party in party_ids:
        key_file = _write_private(policies.parent / f"{party}.jwk", keys[party])
        result = runner.invoke(
            app, ["policy", "sign", str(demo), "--party", party, "--key", str(key_file)]
        )
        assert result.exit_code == 0, _output(result)
        assert _active(policies) == (party == party_ids[-1])
    text = demo.read_text(encoding="utf-8")
    assert text.startswith("# Demo covenant")  # comments and layout survive
    assert text.count('- {"party":') == len(party_ids)

    key_file = policies.parent / "politie-demo.jwk"
    rejected = runner.invoke(
        app,
        [
            "policy",
            "sign",
            str(demo),
            "--party",
            "politie-demo",
            "--key",
            str(key_file),
            "--kind",
            "revoke",
        ],
    )
    assert rejected.exit_code == 0, _output(rejected)
    assert not _active(policies)


def test_sign_refuses_a_stranger_and_a_public_key(policies: Path, tmp_path: Path) -> None:
    key = OKPKey.generate_key("Ed25519")
    private = _write_private(tmp_path / "k.jwk", key)
    before = (policies / DEMO).read_text(encoding="utf-8")
    stranger = runner.invoke(
        app, ["policy", "sign", str(policies / DEMO), "--party", "nobody", "--key", str(private)]
    )
    assert stranger.exit_code != 0
    public = tmp_path / "pub.jwk"
    public.write_text(json.dumps(key.as_dict(private=False)), encoding="utf-8")
    refused = runner.invoke(
        app,
        ["policy", "sign", str(policies / DEMO), "--party", "politie-demo", "--key", str(public)],
    )
    assert refused.exit_code != 0
    assert (policies / DEMO).read_text(encoding="utf-8") == before


def test_add_signature_entry_keeps_other_lists_apart() -> None:
    entry = {"party": "a", "kind": "sign", "jws": "x..y"}
    empty = add_signature_entry("id: x\nsignatures: []\nrules: []\n", entry)
    assert (
        empty
        == 'id: x\nsignatures:\n  - {"party": "a", "kind": "sign", "jws": "x..y"}\nrules: []\n'
    )
    block = "signatures:\n- {party: b, kind: sign, jws: 'p..q'}\n# trailing\nrules: []\n"
    added = add_signature_entry(block, entry)
    assert added.splitlines()[2] == '- {"party": "a", "kind": "sign", "jws": "x..y"}'
    assert added.endswith("rules: []\n")
    with pytest.raises(ValueError):
        add_signature_entry("signatures: [{party: b}]\n", entry)


def test_serve_refuses_to_start_on_a_bad_covenant(policies: Path, tmp_path: Path) -> None:
    _break(policies)
    env = {
        "KETENPOORT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "KETENPOORT_POLICY_DIR": str(policies),
        "KETENPOORT_KEY_DIR": str(tmp_path / "gateway-keys"),
        "KETENPOORT_DEV_MODE": "true",
        "COLUMNS": "300",
    }
    result = runner.invoke(app, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2, _output(result)
    output = _output(result)
    assert len(re.findall(r"demo-zvh\.yaml:\d+: ", output)) >= 2, output


def test_explain_shows_required_grounds_who_consents_and_motivation_codes(
    policies: Path,
) -> None:
    """POLICY.md: requires_ground, agreement_required_from and motivation_codes are explained."""
    result = runner.invoke(
        app,
        [
            "policy",
            "explain",
            "--party",
            "gemeente-demo",
            "--purpose",
            "pga-casusoverleg",
            str(policies),
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, _output(result)
    output = _output(result)
    psychisch = next(line for line in output.splitlines() if "psychisch_welzijn" in line)
    assert "conflict_van_plichten or toestemming_betrokkene" in psychisch
    police = next(line for line in output.splitlines() if "politie_contacten" in line)
    assert "burgemeester" in police and "om" in police
    assert (
        "motivation codes: plan_van_aanpak, recidive, risico_geweld, veiligheid_omgeving" in output
    )
