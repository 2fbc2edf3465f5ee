"""Activation by signature: every party signs; any change, reject or revoke deactivates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey, OKPKey

from gateway.policy import check_dir, compile_policy, load_policy_dir, sign_covenant
from gateway.policy.document import read_document
from tests.policy.conftest import DEMO, demo_data, write_yaml

TODAY = date(2026, 11, 23)
Keys = dict[str, OKPKey | ECKey]


def _signed_covenant(policy_dir: Path, keys: Keys, skip: frozenset[str] = frozenset()) -> Path:
    data = demo_data()
    data["require_signatures"] = True
    demo = write_yaml(policy_dir / DEMO, data)
    data["signatures"] = [
        sign_covenant(demo, party["id"], keys[party["id"]])
        for party in data["parties"]
        if party["id"] not in skip
    ]
    return write_yaml(demo, data)


def _active(policy_dir: Path) -> bool:
    return compile_policy(load_policy_dir(policy_dir)).is_active("zvh-demo", TODAY)


def demo_data_from(path: Path) -> dict[str, Any]:
    document, problems = read_document(path)
    assert document is not None, problems
    data: dict[str, Any] = document.data
    return data


def _append_signature(demo: Path, entry: dict[str, Any]) -> None:
    data = demo_data_from(demo)
    data["signatures"].append(entry)
    write_yaml(demo, data)


def test_all_parties_signed_makes_it_active(policy_dir: Path, trust_keys: Keys) -> None:
    _signed_covenant(policy_dir, trust_keys)
    assert _active(policy_dir)
    assert check_dir(policy_dir) == []


def test_a_missing_signature_keeps_it_inactive(policy_dir: Path, trust_keys: Keys) -> None:
    _signed_covenant(policy_dir, trust_keys, skip=frozenset({"raad-demo"}))
    assert not _active(policy_dir)
    problems = check_dir(policy_dir)
    assert [p.severity for p in problems] == ["warning"]
    assert "inactive until signed by: raad-demo" in problems[0].message


def test_changing_the_file_invalidates_every_signature(policy_dir: Path, trust_keys: Keys) -> None:
    demo = _signed_covenant(policy_dir, trust_keys)
    data = demo_data_from(demo)
    data["rules"][0]["recipients"].append("politie")
    write_yaml(demo, data)
    assert not _active(policy_dir)
    problems = check_dir(policy_dir)
    assert sum("does not verify over this file" in p.message for p in problems) == 15


def test_a_valid_reject_deactivates(policy_dir: Path, trust_keys: Keys) -> None:
    demo = _signed_covenant(policy_dir, trust_keys)
    _append_signature(demo, sign_covenant(demo, "om-demo", trust_keys["om-demo"], "reject"))
    assert not _active(policy_dir)
    assert any("rejected or revoked by om-demo" in p.message for p in check_dir(policy_dir))


def test_a_revoke_deactivates(policy_dir: Path, trust_keys: Keys) -> None:
    demo = _signed_covenant(policy_dir, trust_keys)
    _append_signature(demo, sign_covenant(demo, "ggz-demo", trust_keys["ggz-demo"], "revoke"))
    assert not _active(policy_dir)


def test_a_reject_signed_with_another_partys_key_counts_for_nothing(
    policy_dir: Path,
    trust_keys: Keys,
) -> None:
    demo = _signed_covenant(policy_dir, trust_keys)
    forged = sign_covenant(demo, "ggz-demo", trust_keys["politie-demo"], "reject")
    _append_signature(demo, forged)
    assert _active(policy_dir)
    assert any("reject by 'ggz-demo' not valid" in p.message for p in check_dir(policy_dir))


def test_a_relabelled_signature_does_not_verify(policy_dir: Path, trust_keys: Keys) -> None:
    demo = _signed_covenant(policy_dir, trust_keys, skip=frozenset({"dji-demo"}))
    reject = sign_covenant(demo, "dji-demo", trust_keys["dji-demo"], "reject")
    _append_signature(demo, dict(reject, kind="sign"))
    assert not _active(policy_dir)
    assert any("kind or party differs" in p.message for p in check_dir(policy_dir))


def test_sign_refuses_a_stranger(policy_dir: Path, trust_keys: Keys) -> None:
    with pytest.raises(ValueError, match="not a party"):
        sign_covenant(policy_dir / DEMO, "buurman", trust_keys["om-demo"])


def test_party_without_keys_cannot_sign_is_an_error(policy_dir: Path) -> None:
    data = demo_data()
    data["require_signatures"] = True
    del data["parties"][1]["jwks_file"]
    write_yaml(policy_dir / DEMO, data)
    problems = check_dir(policy_dir, require_keys=False)
    assert any(p.severity == "error" and "must sign the covenant" in p.message for p in problems)
