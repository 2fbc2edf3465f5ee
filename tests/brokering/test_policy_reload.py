"""Covenant changes take effect without a restart; a broken edit keeps the old policy."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.demo.stack import Stack
from gateway.policy.holder import PolicyHolder
from gateway.policy.watch import PolicyWatcher, install_sighup
from tests.brokering.support import open_case, results
from tests.policy.conftest import DEMO, REPO_POLICIES

YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    for name in ("catalogue.yaml", "convenant.schema.json", DEMO):
        shutil.copy(REPO_POLICIES / name, directory / name)
    return directory


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_watcher_reloads_changes_and_keeps_the_policy_on_errors(
    policy_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder(policy_copy, require_keys=False)
    watcher = PolicyWatcher(policy_copy, lambda: holder)
    assert not watcher.check_now()
    first = holder.current

    _edit(policy_copy / DEMO, "valid_until: 2030-12-31", f"valid_until: {YESTERDAY}")
    assert watcher.check_now()
    second = holder.current
    assert second is not first
    assert not second.is_active("zvh-demo", datetime.now(UTC).date())

    _edit(policy_copy / DEMO, "case_opening_roles: [procesregie]", "case_opening_roles: [")
    with caplog.at_level(logging.WARNING, logger="ketenpoort.policy"):
        assert watcher.check_now()
    assert holder.current is second, "a broken file must not replace the policy in force"
    assert watcher.last_problems
    assert any("demo-zvh.yaml:" in record.getMessage() for record in caplog.records)

    assert not watcher.check_now()
    watcher.trigger()
    assert watcher.check_now(), "a trigger (SIGHUP) reloads even without a change"


def test_sighup_wakes_the_watcher(policy_copy: Path) -> None:
    holder = PolicyHolder(policy_copy, require_keys=False)
    watcher = PolicyWatcher(policy_copy, lambda: holder, interval_s=60.0)
    watcher.start()
    restore = install_sighup(watcher)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 5.0
        while watcher.reloads == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.reloads == 1
    finally:
        restore()
        watcher.stop()
    assert signal.getsignal(signal.SIGHUP) is not None


def test_a_running_gateway_picks_up_an_edited_covenant(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    assert (
        results(gemeente.query(case_id, ["huisvesting"]))[("gemeente-demo", "huisvesting")][
            "status"
        ]
        == "ok"
    )
    path = stack.settings.policy_dir / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["valid_until"] = YESTERDAY
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    deadline = time.monotonic() + 10.0
    reasons: set[str] = set()
    while time.monotonic() < deadline:
        reasons = {r["reason"] for r in results(gemeente.query(case_id, ["huisvesting"])).values()}
        if reasons == {"convenant_inactive"}:
            break
        time.sleep(0.2)
    assert reasons == {"convenant_inactive"}
