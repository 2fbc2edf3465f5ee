"""A whole stack per test (real gateway, sources, keys) and the person's portal login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.demo.stack import Stack, start_stack
from tests.web.conftest import login

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


def person_login(stack: Stack, username: str) -> httpx.Client:
    """Log in to the portal through the dev IdP as a demo person (``persoon-a`` ...)."""
    client = login(stack.base_url, username, "/mijn")
    stack_clients: list[Any] = getattr(stack, "_person_clients", [])
    stack_clients.append(client)
    return client


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, as the portal's forms carry it."""
    page = client.get("/mijn/correctie")
    assert page.status_code == 200, page.text
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
