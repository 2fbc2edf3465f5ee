"""The audit log fixture, as the audit tests build it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log


@pytest.fixture
def audit_log(settings: Settings, db: Database, signer: Ed25519Signer) -> Iterator[AuditLog]:
    log = build_audit_log(settings, db, signer)
    yield log
    log.stop()
