"""A bounded soak on loopback: every request answered, the gateway's memory flat."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.support import ServedGateway

pytestmark = pytest.mark.slow
REQUESTS = 1600
WARMUP = 300
MAX_SECONDS = 60.0
MAX_GROWTH_KIB = 40 * 1024


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedGateway]:
    gateway = ServedGateway(tmp_path)
    gateway.prepare()
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.close()


def test_soak_memory_stable_and_no_errors(served: ServedGateway) -> None:
    case_id = served.open_case()
    lock = threading.Lock()
    sent = 0
    errors: list[str] = []
    rss: dict[str, int] = {}
    deadline = time.monotonic() + MAX_SECONDS

    def worker() -> None:
        nonlocal sent
        client = served.client("gemeente-demo")
        try:
            while time.monotonic() < deadline:
                with lock:
                    if sent >= REQUESTS:
                        return
                    sent += 1
                    if sent == WARMUP:
                        rss["warm"] = served.rss_kib()
                try:
                    response = client.query(case_id, ["huisvesting", "sociale_relaties"])
                    statuses = [r["status"] for r in response.json()["results"]]
                    if response.status_code != 200 or set(statuses) != {"ok"}:
                        errors.append(f"{response.status_code} {statuses}")
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(MAX_SECONDS + 30)
    rss["end"] = served.rss_kib()
    assert sent >= WARMUP * 2, f"only {sent} requests in {MAX_SECONDS} s"
    assert not errors, errors[:5]
    growth = rss["end"] - rss["warm"]
    assert growth < MAX_GROWTH_KIB, f"RSS grew {growth} KiB after warm-up ({rss})"
