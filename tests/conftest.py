"""Fixtures that start real things: a migrated SQLite file or PostgreSQL schema.

Every test that asks for ``database_url`` (or anything built on it) runs once
per backend chosen with ``--backends`` (default: both). PostgreSQL comes from
``KETENPOORT_TEST_POSTGRES_URL``; each run gets a fresh database and each test
a fresh schema in it. Under ``CI=true`` an unreachable PostgreSQL fails the
run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway import offload
from gateway.settings import Settings
from gateway.storage import migrate

# Shared fixtures: the one real stack (``stack``); the audit tests' ``signer`` and ``db``.
pytest_plugins = ["tests.support.stack", "tests.support.audit_fixtures"]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(autouse=True)
def _offload_steady_size() -> Iterator[None]:
    """An app's start sets the worker pool's steady size for the process: put it back."""
    before = offload.steady_threads()
    yield
    if offload.steady_threads() != before:
        offload.set_steady_threads(before)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default="sqlite,postgresql",
        help="comma-separated database backends for database tests",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    explicit = any(
        "backend" in str(marker.args[0])
        for marker in metafunc.definition.iter_markers("parametrize")
    )
    if "backend" in metafunc.fixturenames and not explicit:
        backends = [b.strip() for b in metafunc.config.getoption("--backends").split(",") if b]
        metafunc.parametrize("backend", backends, scope="session")


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run (SQLAlchemy URL), dropped afterwards."""
    base = _psycopg_url(os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG))
    name = f"ketenpoort_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable (KETENPOORT_TEST_POSTGRES_URL) and CI=true")
        pytest.skip("PostgreSQL not reachable")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database (not migrated) on the chosen backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ketenpoort.db'}"
        return
    server: str = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{server}?options=-csearch_path%3D{schema}"
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture
def settings(migrated_url: str, tmp_path: Path) -> Settings:
    key_dir = tmp_path / "keys"
    key_dir.mkdir()
    return Settings(
        database_url=migrated_url,
        key_dir=key_dir,
        policy_dir=Path(__file__).resolve().parent.parent / "policies",
        base_url="http://testserver",
        dev_mode=True,
    )
