"""The audit entry a refused case call or query leaves (promise 5; API.md §5).

Every refusal is itself an action worth logging: a party probing cases it is
not part of, or a token used outside its purpose, must show up in the
privacy officer's log and in the denial-burst signal, not only in a 403. The
entry names the token's covenant and purpose, the case id asked for and a
machine-readable reason; never the subject (nothing about the person was
processed), so a refusal creates no subject key either.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.audit.events import AuditEvent, DetailValue, processing_activity_uri
from gateway.cases.service import Actor
from gateway.problems import Problem

REFUSED_OUTCOME = "denied"


def refusal_reason(problem: Problem) -> str:
    """The problem's ``reason`` extension, else its stable slug in snake case."""
    reason = problem.extensions.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    return problem.slug.replace("-", "_")


def refusal_event(
    actor: Actor,
    *,
    action: str,
    reason: str,
    case_id: str | None,
    covenant_version: str | None,
    details: Mapping[str, DetailValue] | None = None,
) -> AuditEvent:
    """One ``decision``/``denied`` entry for one refused call."""
    return AuditEvent(
        kind="decision",
        outcome=REFUSED_OUTCOME,
        reason=reason,
        party=actor.party,
        employee=actor.employee,
        convenant=actor.covenant,
        purpose=actor.purpose,
        case=case_id,
        covenant_version=covenant_version,
        processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
        details={"action": action, **(details or {})},
    )
