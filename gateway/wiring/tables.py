"""Every capability's tables on one metadata, gathered at the composition root for Alembic."""

from gateway.audit.models import (
    AuditCheckpoint,
    AuditDataKey,
    AuditEntry,
    AuditHead,
    AuditNode,
    AuditSubjectIndex,
)
from gateway.auth.replay import UsedAssertion
from gateway.auth.web_sessions import WebSession
from gateway.cases.models import Case, CaseParticipant, CaseSubject
from gateway.consent.models import ConsentRequest
from gateway.consent.withholdings import Withholding
from gateway.copies.models import CachedCopy, CopyDrop
from gateway.grounds.models import CaseGround
from gateway.rights.models import PartnerWithholding, RequestSource, RightsRequest
from gateway.rights.notices import Notice
from gateway.storage.state import GatewayState

__all__ = [
    "AuditCheckpoint",
    "AuditDataKey",
    "AuditEntry",
    "AuditHead",
    "AuditNode",
    "AuditSubjectIndex",
    "CachedCopy",
    "Case",
    "CaseGround",
    "CaseParticipant",
    "CaseSubject",
    "ConsentRequest",
    "CopyDrop",
    "GatewayState",
    "Notice",
    "PartnerWithholding",
    "RequestSource",
    "RightsRequest",
    "UsedAssertion",
    "WebSession",
    "Withholding",
]
