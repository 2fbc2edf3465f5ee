"""The audit tests' shared fixtures: a fresh signing key and a database on the test backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.signer import Ed25519Signer
from gateway.settings import Settings
from gateway.storage.db import Database


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer(Ed25519PrivateKey.generate())


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.sqlalchemy_url, timeout_s=settings.db_timeout_s)
    yield database
    database.dispose()
