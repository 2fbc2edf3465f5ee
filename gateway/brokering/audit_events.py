"""The audit entries a brokered query leaves (API.md §5; promises 5 and 6)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.brokering.results import SourceResult
from gateway.cases.service import Actor, CaseRecord
from gateway.policy.compiled import CompiledPolicy


def query_events(
    actor: Actor,
    case: CaseRecord,
    policy: CompiledPolicy,
    results: Sequence[SourceResult],
    new_consent_request: str | None,
) -> list[AuditEvent]:
    """One entry per (source, category) result, plus the consent request it opened.

    Counts only (records, trimmed fields): never a BSN or a returned value (promise 6).
    """
    version = policy.covenant_version(actor.covenant)
    activity = processing_activity_uri(actor.covenant, actor.purpose)
    events: list[AuditEvent] = []
    for result in results:
        category = policy.category(actor.covenant, result.category)
        criminal = category is not None and category.sensitivity == "strafrechtelijk"
        disclosed = result.status == "ok"
        events.append(
            AuditEvent(
                kind="disclosure" if disclosed else "decision",
                outcome=result.status,
                reason=result.reason,
                party=actor.party,
                employee=actor.employee,
                convenant=actor.covenant,
                purpose=actor.purpose,
                case=case.id,
                source=result.source,
                category=result.category,
                consent_id=result.consent_id,
                records=len(result.records) if result.records is not None else None,
                trimmed_fields=result.trimmed_fields,
                subject_pseudonym=case.subject_pseudonym,
                subject_scope="strafrechtelijk" if criminal and disclosed else "case",
                covenant_version=version,
                processing_activity=activity,
            )
        )
    if new_consent_request is not None:
        events.append(
            AuditEvent(
                kind="consent",
                outcome="requested",
                party=actor.party,
                employee=actor.employee,
                convenant=actor.covenant,
                purpose=actor.purpose,
                case=case.id,
                consent_id=new_consent_request,
                subject_pseudonym=case.subject_pseudonym,
                covenant_version=version,
                processing_activity=activity,
            )
        )
    return events
