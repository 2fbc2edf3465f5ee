"""The audit entries a brokered query leaves (API.md §5; promises 5 and 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from gateway.audit.events import AuditEvent, DetailValue, processing_activity_uri
from gateway.audit.withholding_check import KEPT as WITHHOLDING_KEPT
from gateway.brokering.results import SourceResult
from gateway.cases.service import Actor, CaseRecord
from gateway.consent.events import motivation_details
from gateway.policy.compiled import CompiledCategory, CompiledPolicy


def consent_requested_event(
    actor: Actor,
    case: CaseRecord,
    policy: CompiledPolicy,
    consent_id: str,
    motivation: tuple[str, str] | None = None,
) -> AuditEvent:
    """The ``consent``/``requested`` entry of a request a query opened.

    Written in the transaction that creates the request (before the OM's webhook
    goes out, which waits for that commit), not with the query's answers.
    """
    return AuditEvent(
        kind="consent",
        outcome="requested",
        party=actor.party,
        employee=actor.employee,
        convenant=actor.covenant,
        purpose=actor.purpose,
        case=case.id,
        consent_id=consent_id,
        subject_pseudonym=case.subject_pseudonym,
        covenant_version=policy.covenant_version(actor.covenant),
        processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
        details={
            **_subject_details(case),
            **(motivation_details(*motivation) if motivation else _NO_DETAILS),
        },
    )


def query_events(
    actor: Actor,
    case: CaseRecord,
    policy: CompiledPolicy,
    results: Sequence[SourceResult],
) -> list[AuditEvent]:
    """One entry per (source, category) result, except that plain denials share one entry.

    Counts only (records, trimmed fields): never a BSN or a returned value (promise 6).
    Plain denials (no consent involved) are aggregated so that one query cannot
    write thousands of entries (log flooding); the single entry still names every
    denied pair and its reason. A denial tied to a consent (``consent_revoked``,
    ``consent_refused``) keeps its own entry, naming that consent.
    """
    version = policy.covenant_version(actor.covenant)
    activity = processing_activity_uri(actor.covenant, actor.purpose)
    compiled = policy.covenants.get(actor.covenant)
    categories = compiled.categories if compiled is not None else _NO_CATEGORIES
    # Worked out once per query, not per result: the subject's details (no dict
    # is shared between entries) and each category's sensitivity.
    subject = _subject_details(case)
    events: list[AuditEvent] = []
    denied: list[SourceResult] = []
    for result in results:
        if result.status == "denied" and result.consent_id is None:  # aggregated below
            denied.append(result)
            continue
        category = categories.get(result.category)
        criminal = category is not None and category.sensitivity == "strafrechtelijk"
        disclosed = result.status == "ok"
        if result.ground is None and not result.contested_withheld and not result.withholding_kept:
            details: Mapping[str, DetailValue] = {**subject} if subject else _NO_DETAILS
        else:
            details = _result_details(subject, result)
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
                details=details,
            )
        )
    if denied:
        events.append(_denials_event(actor, case, denied, version, activity))
    return events


_NO_DETAILS: Mapping[str, DetailValue] = MappingProxyType({})
_NO_CATEGORIES: Mapping[str, CompiledCategory] = MappingProxyType({})


def _result_details(
    subject: Mapping[str, DetailValue], result: SourceResult
) -> dict[str, DetailValue]:
    """The subject, the recorded legal ground a disclosure rests on (API.md §2b), records
    left out while contested, and the day a peer's withholding recorded with it runs to."""
    details = {**subject}
    if result.ground is not None:
        details["ground"] = result.ground
    if result.contested_withheld:
        details["contested_withheld"] = result.contested_withheld
    if result.withholding_kept is not None:
        details[WITHHOLDING_KEPT] = result.withholding_kept.isoformat()
    return details


def _subject_details(case: CaseRecord) -> dict[str, DetailValue]:
    """Which person of a household case the entry is about; nothing for the hoofdpersoon."""
    if case.subject_ref == "s1":
        return {}
    return {"subject_ref": case.subject_ref, "subject_role": case.subject_role}


def pair_key(source: str | None, category: str) -> str:
    """``source/category`` as a details key; ``-`` for "no source holds it" (ids never start so)."""
    return f"{source or '-'}/{category}"


def _denials_event(
    actor: Actor,
    case: CaseRecord,
    denied: Sequence[SourceResult],
    version: str | None,
    activity: str,
) -> AuditEvent:
    """One ``decision``/``denied`` entry for every denied (source, category) of one query.

    ``details`` maps each ``source/category`` to its reason and counts them in
    ``denied_pairs``; ``reason`` is the common reason, or ``several`` when they
    differ; ``source``/``category`` are filled when there is only one. Like the
    per-result entries it names the case's subject (under the case's key, made
    when the case was opened), so a search by person still finds the attempt.
    """
    reasons = {result.reason for result in denied}
    sources = {result.source for result in denied}
    categories = {result.category for result in denied}
    details: dict[str, DetailValue] = {"denied_pairs": len(denied), **_subject_details(case)}
    for result in denied:
        details[pair_key(result.source, result.category)] = result.reason
    return AuditEvent(
        kind="decision",
        outcome="denied",
        reason=next(iter(reasons)) if len(reasons) == 1 else "several",
        party=actor.party,
        employee=actor.employee,
        convenant=actor.covenant,
        purpose=actor.purpose,
        case=case.id,
        source=next(iter(sources)) if len(sources) == 1 else None,
        category=next(iter(categories)) if len(categories) == 1 else None,
        subject_pseudonym=case.subject_pseudonym,
        covenant_version=version,
        processing_activity=activity,
        details=details,
    )
