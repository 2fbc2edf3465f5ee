"""The OM's webhook costs a bounded number of threads, whatever the receiver does (review).

Each consent request used to start its own delivery thread, which lived through
every retry and backoff (up to ~5 minutes with the defaults): a partner that
made request after request while the OM's system was down added a thread per
request. Now a few delivery threads take due deliveries from a bounded
schedule; a retry waits there, not in a thread.

Those threads and that schedule serve every OM party of every covenant, so a
receiver that stalls gets one thread and its share of the schedule, no more
(review: it held all four threads and filled the schedule, so another
covenant's OvJ heard of its requests minutes late or not at all).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.consent.webhook import DELIVERY_THREADS, ConsentWebhooks
from gateway.keys import KeyStore
from gateway.policy.compiled import CompiledPolicy, compile_policy
from gateway.policy.loader import load_policy_dir
from tests.consent.support import notice
from tests.reliability.rawserver import raw_server
from tests.support.loopback import serve_app

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOTICES = 120


class Receiver:
    """The OM's system: answers ``status`` (503: try again later) to every notice.

    It counts them and keeps their idempotency keys.
    """

    def __init__(self, status: int = 503) -> None:
        self.status = status
        self.calls = 0
        self.keys: list[str] = []
        self._lock = threading.Lock()

    async def endpoint(self, request: Request) -> Response:
        await request.body()
        with self._lock:
            self.calls += 1
            self.keys.append(request.headers["idempotency-key"])
        return Response(status_code=self.status)


@contextmanager
def serving(found: Receiver) -> Iterator[tuple[Receiver, str]]:
    app = Starlette(routes=[Route("/hook", found.endpoint, methods=["POST"])])
    with serve_app(app) as base_url:
        yield found, base_url + "/hook"


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    with serving(Receiver()) as served:
        yield served


def policy_with_hook(tmp_path: Path, url: str) -> CompiledPolicy:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    om = next(p for p in document["parties"] if p["id"] == "om-demo")
    om["consent_webhook"] = {"url": url, "timeout_s": 2, "max_attempts": 3, "backoff_s": 0.2}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return compile_policy(load_policy_dir(folder, require_keys=False, dev_mode=True))


def delivery_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("consent-webhook"))


def test_many_requests_to_a_receiver_that_is_down_cost_a_few_threads(
    tmp_path: Path, keys: KeyStore, receiver: tuple[Receiver, str]
) -> None:
    om, url = receiver
    policy = policy_with_hook(tmp_path, url)
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: policy, dev_mode=True)
    before = delivery_threads()
    for n in range(NOTICES):
        webhooks(notice(n))
    assert delivery_threads() - before <= DELIVERY_THREADS
    assert webhooks.wait_idle(60.0), "every notice tried max_attempts times, then given up"
    assert om.calls == NOTICES * 3
    assert delivery_threads() - before <= DELIVERY_THREADS


def test_a_full_schedule_drops_the_notice_and_says_so(
    tmp_path: Path,
    keys: KeyStore,
    receiver: tuple[Receiver, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    om, url = receiver
    policy = policy_with_hook(tmp_path, url)
    webhooks = ConsentWebhooks(
        keys, "https://gateway.test", lambda: policy, max_waiting=2, dev_mode=True
    )
    with caplog.at_level(logging.ERROR, logger="ketenpoort.consent.webhook"):
        for n in range(10):
            webhooks(notice(n))
        assert webhooks.wait_idle(60.0)
    dropped = [r for r in caplog.records if "not announced" in r.getMessage()]
    assert dropped, "a notice that finds the schedule full is logged, not queued without bound"
    assert om.calls <= 10 * 3
    assert all("999990" not in r.getMessage() for r in caplog.records)


@pytest.fixture
def healthy() -> Iterator[tuple[Receiver, str]]:
    """An OM system that takes every notice at once."""
    with serving(Receiver(204)) as served:
        yield served


@pytest.fixture
def stalled() -> Iterator[str]:
    """An OM system that takes every connection and never finishes its answer's head."""
    with raw_server("drip_head") as base_url:
        yield base_url + "/hook"


OTHER = "zvh-tweede"


@pytest.fixture
def two_oms(
    tmp_path: Path, stalled: str, healthy: tuple[Receiver, str]
) -> tuple[CompiledPolicy, Receiver]:
    """zvh-demo's OM (om-demo) at the stalled receiver, a second covenant's (om-tweede) not."""
    om_tweede, healthy_url = healthy
    return two_receivers(tmp_path, stalled, healthy_url), om_tweede


def two_receivers(tmp_path: Path, stalled_url: str, healthy_url: str) -> CompiledPolicy:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    om = next(p for p in document["parties"] if p["id"] == "om-demo")
    om["consent_webhook"] = {"url": stalled_url, "timeout_s": 8, "max_attempts": 2}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    document["id"] = OTHER
    om["id"] = "om-tweede"
    om["consent_webhook"] = {"url": healthy_url, "timeout_s": 8, "max_attempts": 2}
    (folder / "tweede-zvh.yaml").write_text(
        yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
    )
    policy = compile_policy(load_policy_dir(folder, require_keys=False, dev_mode=True))
    assert policy.covenant(OTHER) is not None
    return policy


def within(seconds: float, check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds within ``seconds`` (a wide liveness bound, not a timing)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_stalled_receiver_does_not_hold_up_another_covenants_notices(
    keys: KeyStore, two_oms: tuple[CompiledPolicy, Receiver]
) -> None:
    policy, om_tweede = two_oms
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: policy, dev_mode=True)
    before = delivery_threads()
    for n in range(12):  # each attempt runs into the 8 s timeout: minutes of work
        webhooks(notice(n))
    for n in range(100, 120):
        webhooks(notice(n, OTHER))
    webhooks(
        replace(
            notice(100, OTHER), version=2, event="widened", added_categories=("politie_contacten",)
        )
    )
    expected = {f"oc-{n}" for n in range(100, 120)} | {"oc-100.v2"}
    assert within(10.0, lambda: set(om_tweede.keys) == expected), (
        f"{len(om_tweede.keys)} of {len(expected)} notices reached the healthy receiver"
    )
    assert delivery_threads() - before <= DELIVERY_THREADS


def test_a_stalled_receivers_backlog_takes_only_its_share_of_the_schedule(
    keys: KeyStore, two_oms: tuple[CompiledPolicy, Receiver], caplog: pytest.LogCaptureFixture
) -> None:
    policy, om_tweede = two_oms
    # Two receivers share 20 places: 10 each.
    webhooks = ConsentWebhooks(
        keys, "https://gateway.test", lambda: policy, max_waiting=20, dev_mode=True
    )
    with caplog.at_level(logging.ERROR, logger="ketenpoort.consent.webhook"):
        for n in range(30):
            webhooks(notice(n))
        for n in range(100, 110):
            webhooks(notice(n, OTHER))
        assert within(10.0, lambda: len(om_tweede.keys) == 10), (
            f"{len(om_tweede.keys)} of 10 notices reached the healthy receiver"
        )
    dropped = [r.getMessage() for r in caplog.records if "not announced" in r.getMessage()]
    assert all(" to om-demo " in message for message in dropped), dropped
    assert len(dropped) >= 30 - 10, "the stalled receiver holds at most its share"
    assert sorted(om_tweede.keys) == sorted(f"oc-{n}" for n in range(100, 110))
    assert all("999990" not in r.getMessage() for r in caplog.records)
