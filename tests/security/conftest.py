"""The security suite attacks a whole real stack: gateway, demo sources and partner keys.

Each module is one theme of promises (see docs/security.md); every test's docstring names the
promise it guards and was seen to fail on the code before its fix.
"""

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
