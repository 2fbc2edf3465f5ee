"""``ketenpoort keys generate|rotate|list`` and key creation by ``serve``'s preparation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from gateway.audit.models import AuditEntry
from gateway.cli.main import app
from gateway.cli.serve import prepare
from gateway.demo.partners import ensure_partner_keys
from gateway.keys import MANIFEST_RECHECK_S, KeyStore
from gateway.policy.loader import load_policy_dir
from gateway.settings import Settings
from tests.auth.conftest import Ticks

runner = CliRunner()
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
PASSPHRASE = "cli passphrase"


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    monkeypatch.setenv("KETENPOORT_DATABASE_URL", database_url)
    monkeypatch.setenv("KETENPOORT_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("KETENPOORT_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("KETENPOORT_DEV_MODE", raising=False)
    return tmp_path / "keys"


def test_generate_rotate_list(key_env: Path) -> None:
    generated = runner.invoke(app, ["keys", "generate"])
    assert generated.exit_code == 0, generated.output
    ticks = Ticks()  # the CLI is another writer: this store sees it within the recheck bound
    store = KeyStore(key_env, PASSPHRASE, monotonic=ticks)
    token_kid = store.current("token").kid
    first_kids = {r.kid for r in store.records()}
    assert token_kid[:8] in generated.output
    assert "nothing created" in runner.invoke(app, ["keys", "generate"]).output

    rotated = runner.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    ticks.advance(MANIFEST_RECHECK_S)
    assert store.current("token").kid != token_kid
    listing = runner.invoke(app, ["keys", "list"], terminal_width=200)
    assert listing.exit_code == 0
    assert "current" in listing.output and "retired" in listing.output
    assert listing.output.count("audit") == 1

    assert runner.invoke(app, ["keys", "rotate", "--use", "all"]).exit_code == 0
    ticks.advance(MANIFEST_RECHECK_S)
    assert len(store.records("audit")) == 2 and len(store.records("token")) == 3

    # Every creation and rotation is an audit entry naming use and kid (never key material).
    logged = _key_entries(os.environ["KETENPOORT_DATABASE_URL"])
    expected = {("created", kid) for kid in first_kids} | {
        ("rotated", r.kid) for r in store.records() if r.kid not in first_kids
    }
    assert {(e["outcome"], e["details"]["kid"]) for e in logged} == expected
    assert all(set(e["details"]) == {"use", "kid", "alg"} for e in logged)


def _key_entries(url: str) -> list[dict[str, Any]]:
    engine = create_engine(Settings(database_url=url).sqlalchemy_url)
    try:
        with engine.connect() as connection:
            bodies = connection.execute(
                select(AuditEntry.body).where(AuditEntry.kind == "key").order_by(AuditEntry.seq)
            ).scalars()
            return [json.loads(body) for body in bodies]
    finally:
        engine.dispose()


def test_missing_passphrase_fails_clearly(key_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KETENPOORT_KEY_PASSPHRASE")
    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 2
    assert "KETENPOORT_KEY_PASSPHRASE" in result.output
    assert "Traceback" not in result.output


def test_wrong_passphrase_fails_clearly(key_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["keys", "generate"]).exit_code == 0
    monkeypatch.setenv("KETENPOORT_KEY_PASSPHRASE", "another one")
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 2
    assert "wrong passphrase" in " ".join(result.output.split())


def test_rotate_without_keys_says_generate_first(key_env: Path) -> None:
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 2
    assert "keys generate" in result.output


def test_serve_preparation_creates_keys_once(migrated_url: str, tmp_path: Path) -> None:
    # The demo covenant, copied so its partners' trust files land in tmp_path/keys/trust.
    policy_dir = tmp_path / "policies"
    shutil.copytree(REPO_POLICIES, policy_dir)
    for covenant in load_policy_dir(policy_dir, require_keys=False).covenants:
        ensure_partner_keys(covenant, tmp_path / "keys")
    settings = Settings(
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        key_passphrase=PASSPHRASE,
        policy_dir=policy_dir,
    )
    runtime = prepare(settings)
    try:
        kids = {record.kid for record in runtime.keys.records()}
        assert len(kids) == 2
    finally:
        runtime.close()
    again = prepare(settings)
    try:
        assert {record.kid for record in again.keys.records()} == kids
    finally:
        again.close()
    logged = _key_entries(migrated_url)
    assert sorted((e["outcome"], e["reason"], e["details"]["kid"]) for e in logged) == sorted(
        ("created", "serve", kid) for kid in kids
    ), "created once, logged once"
