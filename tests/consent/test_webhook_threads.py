"""The OM's webhook costs a bounded number of threads, whatever the receiver does (review).

Each consent request used to start its own delivery thread, which lived through
every retry and backoff (up to ~5 minutes with the defaults): a partner that
made request after request while the OM's system was down added a thread per
request. Now a few delivery threads take due deliveries from a bounded
schedule; a retry waits there, not in a thread.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.consent.service import ConsentNotice
from gateway.consent.webhook import DELIVERY_THREADS, ConsentWebhooks
from gateway.keys import KeyStore
from gateway.policy.compiled import CompiledPolicy, compile_policy
from gateway.policy.loader import load_policy_dir
from tests.support.loopback import serve_app

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOTICES = 120


class Receiver:
    """The OM's system: answers 503 (try again later) to every notice, and counts them."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    async def endpoint(self, request: Request) -> Response:
        await request.body()
        with self._lock:
            self.calls += 1
        return Response(status_code=503)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    app = Starlette(routes=[Route("/hook", found.endpoint, methods=["POST"])])
    with serve_app(app) as base_url:
        yield found, base_url + "/hook"


def policy_with_hook(tmp_path: Path, url: str) -> CompiledPolicy:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    om = next(p for p in document["parties"] if p["id"] == "om-demo")
    om["consent_webhook"] = {"url": url, "timeout_s": 2, "max_attempts": 3, "backoff_s": 0.2}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return compile_policy(load_policy_dir(folder, require_keys=False))


def notice(n: int) -> ConsentNotice:
    return ConsentNotice(
        id=f"oc-{n}",
        convenant="zvh-demo",
        case="c-test",
        categories=("strafrechtelijk",),
        recipient="gemeente-demo",
        purpose="pga-casusoverleg",
        case_phase="casusoverleg",
        requested_by_employee="m.jansen",
        created_at=datetime.now(UTC),
    )


def delivery_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("consent-webhook"))


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys", "correct horse battery staple")
    store.ensure()
    return store


def test_many_requests_to_a_receiver_that_is_down_cost_a_few_threads(
    tmp_path: Path, keys: KeyStore, receiver: tuple[Receiver, str]
) -> None:
    om, url = receiver
    policy = policy_with_hook(tmp_path, url)
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: policy)
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
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: policy, max_waiting=2)
    with caplog.at_level(logging.ERROR, logger="ketenpoort.consent.webhook"):
        for n in range(10):
            webhooks(notice(n))
        assert webhooks.wait_idle(60.0)
    dropped = [r for r in caplog.records if "not announced" in r.getMessage()]
    assert dropped, "a notice that finds the schedule full is logged, not queued without bound"
    assert om.calls <= 10 * 3
    assert all("999990" not in r.getMessage() for r in caplog.records)
