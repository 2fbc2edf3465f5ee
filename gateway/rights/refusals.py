"""Refused rights-request steps: one uniform answer outside, the precise reason in the log.

A filing that names cases must not become an oracle for "does this BSN belong
to that case?" (a wrong BSN, an unknown case id and a case the caller does
not participate in would otherwise answer differently). So every refusal of a
filing answers the same :class:`RightsRequestRefused` (422, fixed text), and
the reason — which only the privacy officer reads — goes into an audit entry.

Refusal entries carry no subject: logging them under the pseudonym of a
guessed BSN would create a data key for someone the gateway may not know
(and would confirm nothing useful to the officer). The named case ids and the
request id are identifiers, not personal data in clear.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.audit.events import AuditEvent, DetailValue
from gateway.problems import Unprocessable

FILING_REFUSED_DETAIL = (
    "The request was not accepted. A partner files only for cases it participates in, "
    "within its covenant, about the person named, and forwards only to a source of those "
    "cases; a person names only their own cases."
)


class RightsRequestRefused(Unprocessable):
    """The single answer to every refused filing (same status, type, title and detail)."""

    slug = "rights-request-refused"
    title = "The rights request cannot be accepted"


class FilingRefused(Exception):
    """Raised by the rights service; the desk logs ``reason`` and answers uniformly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def uniform_refusal() -> RightsRequestRefused:
    return RightsRequestRefused(detail=FILING_REFUSED_DETAIL)


def refusal_event(
    *,
    action: str,
    reason: str,
    party: str | None,
    employee: str | None,
    covenant: str | None,
    request_type: str | None = None,
    channel: str | None = None,
    cases: Sequence[str] = (),
    request_id: str | None = None,
    representative: str | None = None,
) -> AuditEvent:
    """``kind=rights``, ``outcome=denied``: who tried which step, and why it was refused.

    ``representative``: the relation of a representative's login (never who it is).
    """
    details: dict[str, DetailValue] = {
        "action": action,
        "type": request_type,
        "channel": channel,
        "cases": ",".join(cases) or None,
        "request": request_id,
    }
    if representative is not None:
        details["representative"] = representative
    return AuditEvent(
        kind="rights",
        outcome="denied",
        reason=reason,
        party=party,
        employee=employee,
        convenant=covenant,
        details=details,
    )
