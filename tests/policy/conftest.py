"""Policy directories in tmp_path: the real catalogue and demo covenant, real generated keys."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from joserfc.jwk import ECKey, OKPKey

from gateway.policy.document import parse_document

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
DEMO = "demo-zvh.yaml"


def demo_data() -> dict[str, Any]:
    """The demo covenant as JSON data (dates stay strings, as the loader reads them)."""
    text = (REPO_POLICIES / DEMO).read_text(encoding="utf-8")
    document, problems = parse_document(REPO_POLICIES / DEMO, text)
    assert document is not None, problems
    data: dict[str, Any] = document.data
    return data


class _NoAliasDumper(yaml.SafeDumper):
    """Writes an object met twice (a shallow copy's list) out twice: covenants refuse aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_yaml(path: Path, data: Any) -> Path:
    text = yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def generate_trust_keys(
    trust_dir: Path,
    party_ids: list[str],
    ec_parties: frozenset[str] = frozenset(),
) -> dict[str, OKPKey | ECKey]:
    """One key per party (Ed25519, or P-256 for ``ec_parties``); public JWKS into the trust dir."""
    trust_dir.mkdir(parents=True, exist_ok=True)
    keys: dict[str, OKPKey | ECKey] = {}
    for party_id in party_ids:
        key: OKPKey | ECKey = (
            ECKey.generate_key("P-256", parameters={"kid": f"{party_id}-1"})
            if party_id in ec_parties
            else OKPKey.generate_key("Ed25519", parameters={"kid": f"{party_id}-1"})
        )
        public = {"keys": [key.as_dict(private=False)]}
        (trust_dir / f"{party_id}.json").write_text(json.dumps(public), encoding="utf-8")
        keys[party_id] = key
    return keys


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """tmp/policies with the catalogue and demo covenant; keys (tmp/keys/trust) not yet made."""
    directory = tmp_path / "policies"
    directory.mkdir()
    shutil.copy(REPO_POLICIES / "catalogue.yaml", directory / "catalogue.yaml")
    shutil.copy(REPO_POLICIES / DEMO, directory / DEMO)
    return directory


@pytest.fixture
def trust_keys(policy_dir: Path) -> dict[str, OKPKey | ECKey]:
    party_ids = [party["id"] for party in demo_data()["parties"]]
    return generate_trust_keys(
        policy_dir.parent / "keys" / "trust", party_ids, ec_parties=frozenset({"om-demo"})
    )


@pytest.fixture
def write_demo(policy_dir: Path) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """Rewrite the demo covenant after ``change`` edits its data."""

    def write(change: Callable[[dict[str, Any]], None]) -> Path:
        data = demo_data()
        change(data)
        return write_yaml(policy_dir / DEMO, data)

    return write
