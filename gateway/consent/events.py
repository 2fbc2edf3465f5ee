"""The audit entry of one step in a consent's life (ISSUE 6: every step audited).

The API, the /ovj page and the expiry job build their entries here, so a
grant made in the browser is logged exactly like one made by the OM's system.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.cases.models import subject_of
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
    # The person the request is about (a household member's, not always the hoofdpersoon).
    person = session.scalar(subject_of(view.case, view.subject_ref))
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
        subject_pseudonym=person,
        covenant_version=policy.covenant_version(view.convenant),
        processing_activity=processing_activity_uri(view.convenant, view.purpose),
        details={
            "recipient": view.recipient,
            "categories": ",".join(categories or view.categories),
            "recipients": ",".join(view.granted_recipients) or None,
            "valid_until": view.valid_until.isoformat() if view.valid_until else None,
            "withheld_until": view.withheld_until.isoformat() if view.withheld_until else None,
            **motivation_details(view.motivation_code, view.motivation_text),
            "subject": view.subject_ref,
            "sources": ",".join(view.granted_sources) if view.granted_sources is not None else None,
            "fields": _fields(view.granted_fields),
        },
    )


def motivation_details(code: str | None, text: str | None) -> dict[str, str | None]:
    """The code, and a digest of the free text: the log is append-only and cannot forget.

    The text itself stays in the consent register (erased with the case); the
    digest proves which text the OvJ weighed without putting free text, which may
    name people, into an entry that can never be erased.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None
    return {"motivation_code": code, "motivation_sha256": digest}


def _fields(fields: dict[str, tuple[str, ...]] | None) -> str | None:
    if fields is None:
        return None
    return ";".join(f"{cat}:{','.join(names)}" for cat, names in sorted(fields.items()))
