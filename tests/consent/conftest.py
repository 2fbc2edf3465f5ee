"""Tests here use the shared ``stack`` fixture (tests/support/stack.py): a whole real stack
per test, with the real gateway, real demo sources and real partner keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.keys import KeyStore


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    """The gateway's own key store (its ``token`` key signs the webhook's bearer JWT)."""
    store = KeyStore(tmp_path / "keys", "correct horse battery staple")
    store.ensure()
    return store
