"""Dutch words and Dutch time for the portal: what a status or a moment looks like to a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.grounds.service import GroundView
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.answers import SourceAnswers
from gateway.rights.inzage import Disclosure
from gateway.rights.views import RequestView

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TYPE_LABELS = {"inzage": "Inzage", "correctie": "Correctie", "verzet": "Verzet"}
STATUS_LABELS = {
    "pending": "In behandeling",
    "granted": "Toegewezen",
    "partially_granted": "Gedeeltelijk toegewezen",
    "refused": "Afgewezen",
    "withdrawn": "Ingetrokken",
}
SOURCE_STATUS_LABELS = {
    "sent": "gevraagd, nog geen antwoord",
    "answered": "beantwoord",
    "late": "niet op tijd beantwoord (termijn verstreken)",
}
RELATION_LABELS = {"ouder": "ouder", "voogd": "voogd", "gemachtigde": "gemachtigde"}
FORWARD_LABELS = {
    "forwarded": "doorgestuurd",
    "failed": "doorsturen mislukt; wordt handmatig doorgegeven",
    "unsupported": "wordt handmatig doorgegeven",
}


def nl_time(moment: datetime | str) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def nl_date(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y")


def party_name(policy: CompiledPolicy, convenant: str, party: str | None) -> str:
    if party is None:
        return "—"
    found = policy.party(convenant, party)
    return found.name if found is not None else party


def category_label(category: str | None) -> str:
    return category.replace("_", " ") if category else "—"


def disclosure_row(item: Disclosure) -> dict[str, Any]:
    return {
        "time": nl_time(item.time),
        "recipient": item.recipient_name,
        "source": item.source_name or "—",
        "category": category_label(item.category),
        "purpose": item.purpose_description or item.purpose or "—",
        "case": item.case or "—",
        "records": item.records,
    }


def request_row(policy: CompiledPolicy, view: RequestView, now: datetime) -> dict[str, Any]:
    return {
        "id": view.id,
        "type": TYPE_LABELS.get(view.type, view.type),
        "status": STATUS_LABELS.get(view.status, view.status),
        "decided": view.decided,
        "received": nl_time(view.received_at),
        "deadline": nl_date(view.deadline),
        "overdue": view.overdue(now),
        "responsible": party_name(policy, view.convenant, view.responsible_party),
        "source": party_name(policy, view.convenant, view.source_party)
        if view.source_party
        else None,
        "cases": list(view.cases),
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
                "status": FORWARD_LABELS.get(item.status, item.status),
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


GROUND_STATUS = {"active": "Geldig", "expired": "Verlopen", "withdrawn": "Ingetrokken"}


def consent_row(policy: CompiledPolicy, view: GroundView, today: date) -> ConsentRow:
    covenant = next(
        (c.covenant for c in policy.covenants.values() if c.covenant.party(view.recorded_by_party)),
        None,
    )
    party = covenant.party(view.recorded_by_party) if covenant is not None else None
    status = view.status(today)
    return ConsentRow(
        id=view.id,
        case=view.case,
        categories=", ".join(c.replace("_", " ") for c in view.categories),
        recorded_by=party.name if party is not None else view.recorded_by_party,
        recorded_at=nl_time(view.recorded_at),
        valid_until=view.valid_until.strftime("%d-%m-%Y") if view.valid_until else "intrekking",
        status=GROUND_STATUS.get(status, status),
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
                                (name.replace("_", " "), _field_text(value))
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


def _field_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list):
        return ", ".join(_field_text(item) for item in value)
    return str(value)
