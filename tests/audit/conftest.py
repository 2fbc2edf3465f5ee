"""A real audit log on a migrated database (SQLite file and PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog
from gateway.audit.signer import Ed25519Signer
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

SUBJECT_A = "a" * 64
SUBJECT_B = "b" * 64


def event(n: int, **overrides: object) -> AuditEvent:
    """A plausible disclosure/decision event; every 5th a denial."""
    fields: dict[str, object] = {
        "kind": "decision" if n % 5 == 0 else "disclosure",
        "outcome": "denied" if n % 5 == 0 else "ok",
        "reason": "no_rule" if n % 5 == 0 else None,
        "party": "politie" if n % 2 else "gemeente",
        "employee": f"emp-{n % 7}",
        "convenant": "zvh-demo",
        "purpose": "triage",
        "case": f"c-{n % 3}",
        "source": "reclassering",
        "category": "contacten",
        "records": 1,
        "trimmed_fields": 0,
        "subject_pseudonym": SUBJECT_A if n % 2 else SUBJECT_B,
        "covenant_version": "f" * 64,
    }
    fields.update(overrides)
    return AuditEvent(**fields)  # type: ignore[arg-type]


@pytest.fixture
def audit_log(settings: Settings, db: Database, signer: Ed25519Signer) -> Iterator[AuditLog]:
    log = build_audit_log(settings, db, signer)
    yield log
    log.stop()
