"""Settings come from KETENPOORT_* variables and nothing else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETENPOORT_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("KETENPOORT_BASE_URL", "https://kp.example/")
    monkeypatch.setenv("KETENPOORT_SOURCE_TIMEOUT_S", "1.5")
    settings = Settings()
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db"
    assert settings.base_url == "https://kp.example"
    assert settings.source_timeout_s == 1.5


def test_default_is_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KETENPOORT_DATABASE_URL", raising=False)
    assert Settings().database_url.startswith("sqlite:///./var/")


def test_invalid_value_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETENPOORT_SOURCE_TIMEOUT_S", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_no_environ_outside_settings() -> None:
    found = subprocess.run(
        [
            "grep",
            "-rlE",
            "--exclude=settings.py",
            r"os\.environ|os\.getenv",
            "gateway",
            "connectors",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""
