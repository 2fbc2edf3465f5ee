"""``ketenpoort audit verify|export`` against a real database and key store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from gateway.audit.models import AuditEntry
from gateway.cli.main import app
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.audit.conftest import event


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    runtime = Runtime.build(settings)
    runtime.keys.ensure()
    runtime.audit.append_sync([event(n) for n in range(25)])
    runtime.audit.checkpoint_now()
    runtime.audit.append_sync([event(n) for n in range(25, 30)])
    runtime.close()
    return {
        "KETENPOORT_DATABASE_URL": settings.database_url,
        "KETENPOORT_KEY_DIR": str(settings.key_dir),
        "KETENPOORT_DEV_MODE": "true",
    }


def test_verify_export_and_offline_verify(
    env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output

    export = tmp_path / "audit.jsonl"
    result = runner.invoke(app, ["audit", "export", str(export)], env=env)
    assert result.exit_code == 0, result.output
    lines = export.read_bytes().splitlines()
    assert sum(1 for line in lines if b'"type":"entry"' in line) == 30

    jwks = tmp_path / "jwks.json"
    runtime = Runtime.build(settings)
    jwks.write_text(json.dumps(runtime.keys.jwks("audit")))
    runtime.close()
    args = ["audit", "verify", "--from-export", str(export), "--public-key", str(jwks)]
    result = runner.invoke(app, args, env={})
    assert result.exit_code == 0, result.output

    lines[7] = lines[7].replace(b'"outcome":"ok"', b'"outcome":"no"')
    export.write_bytes(b"\n".join(lines) + b"\n")
    result = runner.invoke(app, args, env={})
    assert result.exit_code == 1
    assert "first bad seq" in result.output


def test_verify_names_the_first_bad_seq_in_the_database(
    env: dict[str, str], settings: Settings
) -> None:
    runtime = Runtime.build(settings)
    with runtime.db.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 11).values(body='{"seq":11}'))
    runtime.close()
    result = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert "first bad seq 11" in result.output
