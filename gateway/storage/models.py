"""Imports every capability's tables so Alembic and tests see one metadata."""

from gateway.audit.models import (
    AuditCheckpoint,
    AuditDataKey,
    AuditEntry,
    AuditHead,
    AuditNode,
    AuditSubjectIndex,
)
from gateway.auth.replay import UsedAssertion
from gateway.cases.models import Case, CaseParticipant, CaseSubject
from gateway.consent.models import ConsentRequest
from gateway.storage.state import GatewayState

__all__ = [
    "AuditCheckpoint",
    "AuditDataKey",
    "AuditEntry",
    "AuditHead",
    "AuditNode",
    "AuditSubjectIndex",
    "Case",
    "CaseParticipant",
    "CaseSubject",
    "ConsentRequest",
    "GatewayState",
    "UsedAssertion",
]
