"""The one ``stack`` fixture: a whole real stack per test (gateway, demo sources, partner keys).

Conftests import it (``from tests.support.stack import stack``) instead of each
writing its own copy; a test package that needs another covenant set starts its
own stack with :func:`gateway.demo.stack.start_stack`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.serve import prepare
from gateway.demo.stack import Stack, start_stack

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def stack(migrated_url: str, tmp_path: Path) -> Iterator[Stack]:
    with start_stack(
        prepare=prepare,
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=REPO_POLICIES,
        workdir=tmp_path,
        delays={},
    ) as running:
        yield running
