"""The audit entry of one step of a rights request (kind ``rights``, scope ``subject``).

Scope ``subject`` seals the entry under the person's own key, not a case's,
so the whole history of their requests is erased with them. Free text
(details, reasons) never enters the log: it may hold personal data in clear.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.audit.events import AuditEvent, DetailValue
from gateway.rights.views import RequestView


def rights_event(
    view: RequestView,
    outcome: str,
    *,
    party: str | None,
    employee: str | None,
    covenant_version: str | None,
    source: str | None = None,
    reason: str | None = None,
    records: int | None = None,
    representative: str | None = None,
    extra: Mapping[str, DetailValue] | None = None,
) -> AuditEvent:
    """Every entry of a representative's request names the relation (never who they are).

    ``representative`` is the relation of whoever acts now; default the filer's.
    """
    details: dict[str, DetailValue] = {
        "request": view.id,
        "type": view.type,
        "channel": view.channel,
        "deadline": view.deadline.isoformat(),
        "responsible_party": view.responsible_party,
        "cases": ",".join(view.cases) or None,
        "representative": representative or view.representative,
    }
    if view.peer_request is not None:  # the peer region's id: both logs tie together
        details["peer_request"] = view.peer_request
    details.update(extra or {})
    return AuditEvent(
        kind="rights",
        outcome=outcome,
        party=party,
        employee=employee,
        convenant=view.convenant,
        source=source,
        reason=reason,
        records=records,
        subject_pseudonym=view.subject_pseudonym,
        subject_scope="subject",
        encrypt_employee=employee is not None,
        covenant_version=covenant_version,
        details=details,
    )
