"""Run Alembic migrations from code, so ``ketenpoort serve`` needs no alembic.ini.

Each capability owns its own migration branch off the shared base revision;
"up to date" therefore means every head is applied.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the schema at ``url`` up to ``revision`` (default: every head)."""
    command.upgrade(alembic_config(url), revision)


def current_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def is_current(engine: Engine) -> bool:
    """True only if exactly the known heads are applied (an unknown revision is not current)."""
    try:
        return current_revisions(engine) == head_revisions()
    except CommandError:
        return False
