"""A jti is spent for every gateway instance sharing the database, not just the one that saw it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest

from gateway.app import create_app
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.auth.conftest import token_request
from tests.auth.partners import Partner
from tests.support.loopback import serve_app


@pytest.fixture
def two_instances(auth_settings: Settings) -> Iterator[tuple[str, str]]:
    """Two gateway apps, each with its own runtime and engine, on two loopback ports."""
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            runtime = Runtime.build(auth_settings)
            runtime.keys.ensure()
            stack.callback(runtime.close)
            urls.append(stack.enter_context(serve_app(create_app(auth_settings, runtime))))
        yield urls[0], urls[1]


def test_replay_on_a_second_instance_is_refused(
    two_instances: tuple[str, str], partners: dict[str, Partner]
) -> None:
    first, second = two_instances
    assertion = partners["politie-t"].assertion()
    with httpx.Client(base_url=first) as client:
        assert token_request(client, assertion).status_code == 200
    with httpx.Client(base_url=second) as client:
        replay = token_request(client, assertion)
        assert replay.json()["error"] == "invalid_client"
        assert "used before" in replay.json()["error_description"]
        assert token_request(client, partners["politie-t"].assertion()).status_code == 200


def test_simultaneous_replay_wins_once(
    two_instances: tuple[str, str], partners: dict[str, Partner]
) -> None:
    assertions = [partners["ggz-t"].assertion() for _ in range(3)]

    def send(job: tuple[str, str]) -> int:
        base_url, assertion = job
        with httpx.Client(base_url=base_url, timeout=10) as client:
            return token_request(client, assertion).status_code

    jobs = [(url, assertion) for assertion in assertions for url in two_instances for _ in (0, 1)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(send, jobs))
    for index in range(len(assertions)):
        per_assertion = statuses[index * 4 : index * 4 + 4]
        assert per_assertion.count(200) == 1, statuses
