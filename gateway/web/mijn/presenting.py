"""Dutch words and Dutch time for the portal: what a status or a moment looks like to a person."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.grounds.service import GroundView
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.answers import SourceAnswers
from gateway.rights.desk import CaseChoice
from gateway.rights.inzage import Disclosure, DisclosureGroup
from gateway.rights.views import RequestView
from gateway.web.glossary import FORWARD_STATUS, RIGHTS_STATUS, RIGHTS_TYPE, label
from gateway.web.timefmt import nl_date, nl_time

__all__ = ["nl_date", "nl_time"]
TYPE_LABELS = RIGHTS_TYPE
STATUS_LABELS = RIGHTS_STATUS
FORWARD_LABELS = FORWARD_STATUS
OTHER_CASE = "een casus die niet meer open is"
CaseLabels = Mapping[str, str]
SOURCE_STATUS_LABELS = {
    "sent": "gevraagd, nog geen antwoord",
    "answered": "beantwoord",
    "late": "niet op tijd beantwoord (termijn verstreken)",
}
RELATION_LABELS = {"ouder": "ouder", "voogd": "voogd", "gemachtigde": "gemachtigde"}


def case_labels(cases: Iterable[CaseChoice]) -> dict[str, str]:
    """Friendly names for a person's cases: "Casus 1" is the oldest (ids mean nothing to them)."""
    ordered = sorted(cases, key=lambda c: c.created_at)
    return {c.id: f"Casus {number}" for number, c in enumerate(ordered, start=1)}


def case_label(labels: CaseLabels, case: str | None) -> str:
    if not case:
        return "—"
    return labels.get(case, OTHER_CASE)


def party_name(policy: CompiledPolicy, convenant: str, party: str | None) -> str:
    if party is None:
        return "—"
    found = policy.party(convenant, party)
    return found.name if found is not None else party


def category_label(category: str | None) -> str:
    return category.replace("_", " ") if category else "—"


def disclosure_row(item: Disclosure, cases: CaseLabels) -> dict[str, Any]:
    return {
        "time": nl_time(item.time),
        "recipient": item.recipient_name,
        "source": item.source_name or "—",
        "category": category_label(item.category),
        "purpose": item.purpose_description or item.purpose or "—",
        "case": case_label(cases, item.case),
        "records": item.records,
    }


def summary_row(group: DisclosureGroup, cases: CaseLabels) -> dict[str, Any]:
    """One line of the complete overview: how many times, and from when to when."""
    return {
        "count": group.count,
        "first": nl_time(group.first),
        "last": nl_time(group.last),
        "recipient": group.recipient_name,
        "source": group.source_name or "—",
        "category": category_label(group.category),
        "purpose": group.purpose_description or group.purpose or "—",
        "case": case_label(cases, group.case),
    }


def request_row(
    policy: CompiledPolicy, view: RequestView, now: datetime, cases: CaseLabels
) -> dict[str, Any]:
    return {
        "id": view.id,
        "type": label("rights_type", view.type),
        "status": label("rights_status", view.status),
        "decided": view.decided,
        "received": nl_time(view.received_at),
        "deadline": nl_date(view.deadline),
        "overdue": view.overdue(now),
        "responsible": party_name(policy, view.convenant, view.responsible_party),
        "source": party_name(policy, view.convenant, view.source_party)
        if view.source_party
        else None,
        "cases": [case_label(cases, case) for case in view.cases],
        "filed_by": party_name(policy, view.convenant, view.filed_by_party)
        if view.filed_by_party
        else None,
        "details": view.details,
        "reason": view.decision_reason,
        "decided_at": nl_time(view.decided_at) if view.decided_at else None,
        "decided_by": party_name(policy, view.convenant, view.decided_by_party),
        "pending": view.status == "pending",
        "first_deadline": nl_date(view.first_deadline) if view.first_deadline else None,
        "extension_reason": view.extension_reason,
        "extended_by": party_name(policy, view.convenant, view.extended_by_party),
        "withdrawn_at": nl_time(view.withdrawn_at) if view.withdrawn_at else None,
        "representative": RELATION_LABELS.get(view.representative or "", view.representative),
        "execute_by": nl_date(view.execute_by) if view.execute_by else None,
        "executed_at": nl_time(view.executed_at) if view.executed_at else None,
        "execution_overdue": view.execution_overdue(now),
        "sources": [
            {
                "party": party_name(policy, source.convenant, source.party),
                "status": SOURCE_STATUS_LABELS.get(source.status, source.status),
                "late": source.status == "late",
                "answered_at": nl_time(source.answered_at) if source.answered_at else None,
                "records": source.record_count,
            }
            for source in view.sources
        ],
        "forwarded": [
            {
                "party": party_name(policy, view.convenant, item.party),
                "status": label("forward_status", item.status),
                "outcome": label("rights_status", item.outcome) if item.outcome else None,
                "executed": item.executed_at is not None,
            }
            for item in view.forwarded
        ],
    }


def source_choices(policy: CompiledPolicy) -> list[tuple[str, str]]:
    """Every party with a bronregistratie, by name: where a wrong record may sit."""
    seen: dict[str, str] = {}
    for compiled in policy.covenants.values():
        for party in compiled.covenant.parties:
            if party.source is not None:
                seen.setdefault(party.id, party.name)
    return sorted(seen.items(), key=lambda item: item[1])


@dataclass(frozen=True)
class ConsentRow:
    """The person's own consent (a ``toestemming_betrokkene`` ground) as /mijn shows it."""

    id: str
    case: str
    categories: str
    recorded_by: str
    recorded_at: str
    valid_until: str
    status: str
    active: bool


def consent_row(
    policy: CompiledPolicy, view: GroundView, today: date, cases: CaseLabels
) -> ConsentRow:
    covenant = next(
        (c.covenant for c in policy.covenants.values() if c.covenant.party(view.recorded_by_party)),
        None,
    )
    party = covenant.party(view.recorded_by_party) if covenant is not None else None
    status = view.status(today)
    return ConsentRow(
        id=view.id,
        case=case_label(cases, view.case),
        categories=", ".join(category_label(c) for c in view.categories),
        recorded_by=party.name if party is not None else view.recorded_by_party,
        recorded_at=nl_time(view.recorded_at),
        valid_until=nl_date(view.valid_until) if view.valid_until else "intrekking",
        status=label("ground_status", status),
        active=status == "active",
    )


def answers_rows(policy: CompiledPolicy, found: list[SourceAnswers]) -> list[dict[str, Any]]:
    """Per inzage request, per joint controller: its status and the records it sent."""
    return [
        {
            "id": item.request_id,
            "received": nl_time(item.received_at),
            "deadline": nl_date(item.deadline),
            "sources": [
                {
                    "party": party_name(policy, source.convenant, source.party),
                    "status": SOURCE_STATUS_LABELS.get(source.status, source.status),
                    "late": source.status == "late",
                    "answered_at": nl_time(source.answered_at) if source.answered_at else None,
                    "records": [
                        {
                            "category": category_label(record.category),
                            "updated": nl_time(record.updated),
                            "fields": [
                                (_shown(name.replace("_", " ")), _field_text(value))
                                for name, value in sorted(record.fields.items())
                            ],
                        }
                        for record in source.records or []
                    ],
                }
                for source in item.sources
            ],
        }
        for item in found
    ]


def _shown(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold (a lone surrogate) shown as ``?``.

    A source's answer is refused at the API when it holds one (``StrictBody``);
    this is the second layer, so a value that got in another way costs one
    character on the page, not every later /mijn visit (a 500 on encoding).
    """
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _field_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list):
        return ", ".join(_field_text(item) for item in value)
    return _shown(str(value))


def privacy_officer_names(policy: CompiledPolicy) -> list[str]:
    """The FGs a person can turn to: every privacy-officer party of the loaded covenants."""
    names = {
        party.name
        for compiled in policy.covenants.values()
        for party in compiled.covenant.parties
        if "privacy_officer" in party.roles
    }
    return sorted(names)
