"""KETENPOORT_SOURCE_TIMEOUT_S bounds every source whose covenant entry sets no timeout.

Real stack, real slow demo source: the gemeente's source answers after a
delay; the covenant's `timeout_s` is removed or set, the setting varies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.serve import prepare
from gateway.demo.stack import Stack, start_stack
from tests.brokering.support import change_covenant, open_case, party_block, results
from tests.support.stack import REPO_POLICIES

SOURCE = "gemeente-demo"
CATEGORY = "huisvesting"
StackFactory = Callable[[float], Stack]


@pytest.fixture
def make_stack(migrated_url: str, tmp_path: Path) -> Iterator[StackFactory]:
    started: list[Stack] = []

    def make(source_timeout_s: float) -> Stack:
        stack = start_stack(
            prepare=prepare,
            database_url=migrated_url,
            key_dir=tmp_path / "keys",
            policy_dir=REPO_POLICIES,
            workdir=tmp_path,
            delays={},
            settings_overrides={"source_timeout_s": source_timeout_s},
        )
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


def _source_timeout(stack: Stack, timeout_s: float | None) -> None:
    """Give the gemeente's covenant source entry this timeout, or none at all."""

    def change(document: dict[str, Any]) -> None:
        source = party_block(document, SOURCE)["source"]
        source.pop("timeout_s", None)
        if timeout_s is not None:
            source["timeout_s"] = timeout_s

    change_covenant(stack, change)


def _ask(stack: Stack, delay_s: float) -> tuple[dict[str, Any], float]:
    """The gemeente's own huisvesting result with its source this slow, and how long it took."""
    client, case_id = open_case(stack, participants=["ggz-demo"])
    stack.sources.source(SOURCE).delay_s = delay_s
    start = time.monotonic()
    response = client.query(case_id, [CATEGORY], [SOURCE])
    elapsed = time.monotonic() - start
    return results(response)[(SOURCE, CATEGORY)], elapsed


def test_a_small_setting_bounds_a_source_without_covenant_timeout(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(0.5)
    _source_timeout(stack, None)
    result, elapsed = _ask(stack, delay_s=3.0)
    assert result["status"] == "unavailable" and result["reason"] == "timeout", result
    # The setting's 0.5 s, not the 2 s the covenant models used to default to.
    assert 0.45 <= elapsed < 1.5, elapsed
    # A covenant entry's own timeout wins over a smaller setting.
    _source_timeout(stack, 3.0)
    result, elapsed = _ask(stack, delay_s=1.0)
    assert result["status"] == "ok", result
    assert elapsed >= 1.0


def test_a_large_setting_lets_a_slow_source_without_covenant_timeout_answer(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(4.0)
    _source_timeout(stack, None)
    result, elapsed = _ask(stack, delay_s=2.5)
    assert result["status"] == "ok", result
    assert elapsed >= 2.5


def test_the_covenant_timeout_wins_over_a_larger_setting(make_stack: StackFactory) -> None:
    stack = make_stack(4.0)
    _source_timeout(stack, 0.3)
    result, elapsed = _ask(stack, delay_s=2.5)
    assert result["status"] == "unavailable" and result["reason"] == "timeout", result
    assert 0.25 <= elapsed < 1.5, elapsed
