"""A bad covenant never kills the policy reloader, and is reported with file and line (review F2).

Before, ``RecursionError`` (a few thousand ``[``) and ``ValueError: year 11000
is out of range`` (``log_retention: P9000Y``) escaped the loader: the
``policy-watch`` thread died with a traceback, and every later edit and SIGHUP
was ignored until a restart, so a party or role removed from a covenant stayed
in force. YAML aliases were walked once per reference: a few lines took
seconds and gigabytes. Now each is an error finding, the policy in force stays,
and the watcher goes on.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from gateway.policy.durations import DurationError, parse_duration
from gateway.policy.errors import Finding, PolicyError
from gateway.policy.holder import PolicyHolder
from gateway.policy.watch import PolicyWatcher
from tests.policy.conftest import DEMO

DEEP = 2000


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def _deep(text: str) -> tuple[str, int]:
    broken = text.replace("case_opening_roles: [procesregie]", "case_opening_roles: " + "[" * DEEP)
    broken += "]" * DEEP + "\n"
    return broken, _line_of(broken, "case_opening_roles: [")


def _long_retention(text: str) -> tuple[str, int]:
    broken = text.replace("log_retention: P4Y", "log_retention: P9000Y", 1)
    return broken, _line_of(broken, "log_retention: P9000Y")


def _long_deadline(text: str) -> tuple[str, int]:
    broken = text.replace("correctie: P14D", "correctie: P99999999999D", 1)
    return broken, _line_of(broken, "correctie: P99999999999D")


def _alias(text: str) -> tuple[str, int]:
    broken = text.replace("consent_max: P1Y", "consent_max: &term P1Y", 1)
    return broken, _line_of(broken, "&term")


BREAKAGES = {
    "nested 2000 deep": _deep,
    "log_retention P9000Y": _long_retention,
    "deadline past datetime": _long_deadline,
    "anchor": _alias,
}


def _errors(problems: list[Finding]) -> list[Finding]:
    return [p for p in problems if p.severity == "error"]


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_bad_covenant_at_start_up_is_a_policy_error_with_file_and_line(
    policy_dir: Path, breakage: object
) -> None:
    path = policy_dir / DEMO
    broken, line = breakage(path.read_text(encoding="utf-8"))  # type: ignore[operator]
    path.write_text(broken, encoding="utf-8")

    with pytest.raises(PolicyError) as caught:
        PolicyHolder(policy_dir, require_keys=False)

    errors = _errors(caught.value.problems)
    assert errors, "the file is refused"
    assert {(p.file, p.line) for p in errors} == {(path, line)}, [str(p) for p in errors]


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_the_watcher_survives_a_bad_covenant_and_reloads_the_fix(
    policy_dir: Path, breakage: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = policy_dir / DEMO
    original = path.read_text(encoding="utf-8")
    holder = PolicyHolder(policy_dir, require_keys=False)
    first = holder.current
    watcher = PolicyWatcher(policy_dir, lambda: holder, interval_s=0.05)
    watcher.start()
    try:
        broken, line = breakage(original)  # type: ignore[operator]
        with caplog.at_level(logging.INFO, logger="ketenpoort.policy"):
            path.write_text(broken, encoding="utf-8")
            _wait_for(lambda: watcher.reloads >= 1)
            assert watcher._thread is not None and watcher._thread.is_alive()
            assert holder.current is first, "the policy in force stays, never a half-loaded one"
            assert [(p.file, p.line) for p in _errors(watcher.last_problems)] == [(path, line)]

            # The operator fixes the file and, in the same edit, shortens a term.
            path.write_text(original.replace("consent_max: P1Y", "consent_max: P6M"), "utf-8")
            _wait_for(lambda: watcher.reloads >= 2)
        assert holder.current is not first
        assert str(holder.current.covenants["zvh-demo"].covenant.retention.consent_max) == "P6M"
        assert not any(record.exc_info for record in caplog.records), "no traceback in the log"
    finally:
        watcher.stop()


def test_an_alias_bomb_is_refused_before_it_is_walked(policy_dir: Path) -> None:
    lines = ['x-a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"x-a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = policy_dir / DEMO
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(lines) + "\n", "utf-8")

    with pytest.raises(PolicyError) as caught:
        PolicyHolder(policy_dir, require_keys=False)

    assert [p.message for p in _errors(caught.value.problems)] == [
        "YAML anchors and aliases (&name, *name) are not allowed"
    ]


def test_merge_keys_are_refused(policy_dir: Path) -> None:
    path = policy_dir / DEMO
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("consent_max: P1Y", "<<: {consent_max: P1Y}", 1), "utf-8")
    with pytest.raises(PolicyError) as caught:
        PolicyHolder(policy_dir, require_keys=False)
    assert [p.message for p in _errors(caught.value.problems)] == [
        "merge keys (<<) are not allowed"
    ]


@pytest.mark.parametrize("text", ["P1000Y", "P12000M", "P365000D", "P1000Y365000D"])
def test_durations_up_to_a_thousand_years_are_read(text: str) -> None:
    parse_duration(text)


@pytest.mark.parametrize("text", ["P1001Y", "P12001M", "P367000D", "PT9999999999999S"])
def test_longer_durations_are_refused(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)
    assert condition(), "the watcher did not get there"  # type: ignore[operator]
