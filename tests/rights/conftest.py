"""A whole stack per test (real gateway, sources, keys) and the person's portal login."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.demo.stack import Stack
from tests.web.conftest import login


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
