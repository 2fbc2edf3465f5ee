"""The CLI starts cleanly or fails with a clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.storage import migrate

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "demo", "db"):
        assert command in result.output


def test_serve_with_unreachable_database_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KETENPOORT_DATABASE_URL", "postgresql://kp:geheim@127.0.0.1:1/none")
    monkeypatch.setenv("KETENPOORT_DB_TIMEOUT_S", "1")
    monkeypatch.setenv("KETENPOORT_KEY_DIR", str(tmp_path / "keys"))
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "KETENPOORT_DATABASE_URL" in result.output
    assert "geheim" not in result.output
    assert "Traceback" not in result.output


def test_invalid_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETENPOORT_SOURCE_TIMEOUT_S", "lang")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "KETENPOORT_SOURCE_TIMEOUT_S" in result.output


def test_db_upgrade(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("KETENPOORT_DATABASE_URL", database_url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
