"""The audit entry of one step in a consent's life (ISSUE 6: every step audited).

The API, the /ovj page and the expiry job build their entries here, so a
grant made in the browser is logged exactly like one made by the OM's system.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.cases.models import Case
from gateway.consent.service import ConsentView
from gateway.policy.compiled import CompiledPolicy


def consent_event(
    session: Session,
    policy: CompiledPolicy,
    view: ConsentView,
    outcome: str,
    *,
    party: str | None,
    employee: str | None,
    reason: str | None = None,
) -> AuditEvent:
    """``outcome``: requested, granted, refused, revoked or expired."""
    case = session.get(Case, view.case)
    categories = view.granted_categories if view.status != "refused" else ()
    return AuditEvent(
        kind="consent",
        outcome=outcome,
        reason=reason if reason is not None else view.reason,
        party=party,
        employee=employee,
        convenant=view.convenant,
        purpose=view.purpose,
        case=view.case,
        consent_id=view.id,
        subject_pseudonym=case.subject_pseudonym if case is not None else None,
        covenant_version=policy.covenant_version(view.convenant),
        processing_activity=processing_activity_uri(view.convenant, view.purpose),
        details={
            "recipient": view.recipient,
            "categories": ",".join(categories or view.categories),
            "recipients": ",".join(view.granted_recipients) or None,
            "valid_until": view.valid_until.isoformat() if view.valid_until else None,
            "withheld_until": view.withheld_until.isoformat() if view.withheld_until else None,
        },
    )
