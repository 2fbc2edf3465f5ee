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
from gateway.consent.withholdings import Withholding
from gateway.copies.models import CachedCopy
from gateway.rights.models import PartnerWithholding, RequestSource, RightsRequest
from gateway.rights.notices import Notice
from gateway.storage.state import GatewayState
from gateway.web.session_store import WebSession

__all__ = [
    "AuditCheckpoint",
    "AuditDataKey",
    "AuditEntry",
    "AuditHead",
    "AuditNode",
    "AuditSubjectIndex",
    "CachedCopy",
    "Case",
    "CaseParticipant",
    "CaseSubject",
    "ConsentRequest",
    "GatewayState",
    "Notice",
    "PartnerWithholding",
    "RequestSource",
    "RightsRequest",
    "UsedAssertion",
    "WebSession",
    "Withholding",
]
