"""A whole stack per test (real gateway, real demo sources, real partner keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.stack import Stack, start_stack

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def stack(migrated_url: str, tmp_path: Path) -> Iterator[Stack]:
    with start_stack(
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=REPO_POLICIES,
        workdir=tmp_path,
        delays={},
    ) as running:
        yield running
