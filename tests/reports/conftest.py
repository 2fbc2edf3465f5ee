"""A real demo stack with a short simulated year, shared by the reports tests of one module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.serve import prepare
from gateway.demo.simulate import Simulated, simulate_year
from gateway.demo.stack import Stack, start_stack
from tests.support.stack import REPO_POLICIES

CASES = 24
SMALL = re.compile(r"^[1-4]$")


@pytest.fixture
def simulated(migrated_url: str, tmp_path: Path) -> Iterator[tuple[Stack, Simulated]]:
    with start_stack(
        prepare=prepare,
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=REPO_POLICIES,
        workdir=tmp_path,
        delays={},
    ) as running:
        result = simulate_year(running, cases=CASES, seed=7)
        assert result.errors == [], result.errors
        yield running, result


def small_counts(values: list[object]) -> list[object]:
    """Every count 1..4 among ``values`` (ints, or their text in CSV/HTML)."""
    return [
        v
        for v in values
        if (isinstance(v, int) and not isinstance(v, bool) and 0 < v < 5)
        or (isinstance(v, str) and SMALL.match(v))
    ]
