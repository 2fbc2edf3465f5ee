"""Alembic is the only way the schema is made; it runs up and down on both backends."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect

from gateway.storage import migrate
from gateway.storage.base import Base

ROOT = Path(__file__).resolve().parents[2]


def test_upgrade_creates_every_model_table(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)  # idempotent
    from alembic import command

    command.downgrade(migrate.alembic_config(database_url), "base")
    engine = create_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(database_url)


def test_no_create_all_outside_tests() -> None:
    found = subprocess.run(
        ["grep", "-rn", "create_all", "gateway", "connectors"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""
