"""``ketenpoort retention run [--dry-run]``: a summary per rule; dry run keeps everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.copies.models import CachedCopy
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.retention.support import add_copy, count


@pytest.mark.parametrize("backend", ["sqlite"])
def test_cli_dry_run_then_run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "POLICY_DIR": str(settings.policy_dir),
        "KEY_DIR": str(settings.key_dir),
        "DEV_MODE": "true",
    }.items():
        monkeypatch.setenv(f"KETENPOORT_{name}", value)
    runtime = Runtime.build(settings)
    with runtime.db.session() as session:
        add_copy(session, "c-1", "rec-1", datetime.now(UTC) - timedelta(minutes=1))
    cli = CliRunner()

    dry = cli.invoke(app, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would go" in dry.output and "copies" in dry.output
    with runtime.db.session() as session:
        assert count(session, CachedCopy) == 1

    real = cli.invoke(app, ["retention", "run"])
    assert real.exit_code == 0, real.output
    assert "went" in real.output
    with runtime.db.session() as session:
        assert count(session, CachedCopy) == 0
    runtime.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_cli_run_with_a_failed_rule_exits_1_after_the_others_ran(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "POLICY_DIR": str(settings.policy_dir),
        "KEY_DIR": str(settings.key_dir),
        "DEV_MODE": "true",
    }.items():
        monkeypatch.setenv(f"KETENPOORT_{name}", value)
    runtime = Runtime.build(settings)
    with runtime.db.session() as session:
        add_copy(session, "c-1", "rec-1", datetime.now(UTC) - timedelta(minutes=1))
        session.execute(text("DROP TABLE auth_used_assertions"))

    real = CliRunner().invoke(app, ["retention", "run"])

    assert real.exit_code == 1, real.output
    assert "failed in part" in real.output
    with runtime.db.session() as session:
        assert count(session, CachedCopy) == 0
    runtime.close()
