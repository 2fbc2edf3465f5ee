"""A real stack on a SQLite file; reliability tests pick their own settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.serve import prepare
from gateway.demo.stack import Stack, start_stack
from gateway.storage import migrate
from tests.reliability.chaos_support import PgCluster, require_postgres_binaries

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
StackFactory = Callable[..., Stack]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a reliability test that runs for tens of seconds")


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[StackFactory]:
    started: list[Stack] = []

    def make(**overrides: Any) -> Stack:
        url = f"sqlite:///{tmp_path / 'ketenpoort.db'}"
        migrate.upgrade(url)
        stack = start_stack(
            prepare=prepare,
            database_url=url,
            key_dir=tmp_path / "keys",
            policy_dir=REPO_POLICIES,
            workdir=tmp_path,
            delays={},
            settings_overrides=overrides,
        )
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


@pytest.fixture
def stack(make_stack: StackFactory) -> Stack:
    return make_stack()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One disposable PostgreSQL cluster for the chaos, workers and deploy modules.

    Each module makes its own database in it; the chaos module stops and
    freezes it and leaves it running again.
    """
    cluster = PgCluster(require_postgres_binaries())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
