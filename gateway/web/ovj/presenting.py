"""What a consent request looks like to the OvJ: names instead of ids, Dutch labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gateway.consent.service import ConsentView
from gateway.policy.compiled import CompiledPolicy
from gateway.web.glossary import CONSENT_STATUS, PHASE, SENSITIVITY
from gateway.web.timefmt import nl_date as _nl_date
from gateway.web.timefmt import nl_time as _nl_time

STATUS_LABELS = CONSENT_STATUS
PHASE_LABELS = PHASE
SENSITIVITY_LABELS = SENSITIVITY


def nl_date(day: date | None) -> str:
    return _nl_date(day)


def nl_time(moment: datetime | None) -> str:
    return _nl_time(moment)


@dataclass(frozen=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True)
class AskedCategory:
    id: str
    sensitivity: str
    fields: tuple[str, ...]
    description: str | None
    granted: bool


@dataclass(frozen=True)
class ConsentPage:
    """One request as the detail page and the list show it."""

    view: ConsentView
    status: str
    status_label: str
    convenant: str
    recipient: Named
    purpose: Named
    legal_basis: str
    phase_label: str
    categories: tuple[AskedCategory, ...]
    sources: tuple[Named, ...]
    created: str
    decided: str
    valid_until: str
    withheld_until: str
    revoked: str


def _party(policy: CompiledPolicy, convenant: str, party_id: str) -> Named:
    party = policy.party(convenant, party_id)
    return Named(party_id, party.name if party is not None else party_id)


def consent_page(policy: CompiledPolicy, view: ConsentView, today: date) -> ConsentPage:
    covenant = policy.covenant(view.convenant)
    purpose_name, legal_basis = view.purpose, "—"
    categories: list[AskedCategory] = []
    by_id = {c.id: c for c in covenant.categories} if covenant is not None else {}
    if covenant is not None:
        for purpose in covenant.purposes:
            if purpose.id == view.purpose:
                purpose_name, legal_basis = purpose.description, purpose.legal_basis
    for category_id in view.categories:
        found = by_id.get(category_id)
        categories.append(
            AskedCategory(
                id=category_id,
                sensitivity=SENSITIVITY_LABELS.get(found.sensitivity, "") if found else "",
                fields=found.fields if found else (),
                description=found.description if found else None,
                granted=category_id in view.granted_categories,
            )
        )
    status = view.effective_status(today)
    return ConsentPage(
        view=view,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        convenant=covenant.title if covenant is not None else view.convenant,
        recipient=_party(policy, view.convenant, view.recipient),
        purpose=Named(view.purpose, " ".join(purpose_name.split())),
        legal_basis=legal_basis,
        phase_label=PHASE_LABELS.get(view.case_phase, view.case_phase),
        categories=tuple(categories),
        sources=tuple(_party(policy, view.convenant, source) for source in view.sources),
        created=nl_time(view.created_at),
        decided=nl_time(view.decided_at),
        valid_until=nl_date(view.valid_until),
        withheld_until=nl_date(view.withheld_until),
        revoked=nl_time(view.revoked_at),
    )


def latest_valid_until(policy: CompiledPolicy, convenant: str, today: date) -> date | None:
    """The last date the covenant's ``consent_max`` allows (the date field's ``max``)."""
    covenant = policy.covenant(convenant)
    if covenant is None:
        return None
    return covenant.retention.consent_max.add_to(today)


def latest_withheld_until(policy: CompiledPolicy, convenant: str, today: date) -> date | None:
    """The last date the covenant's ``rights.withheld_max`` allows for inzage uitgesteld tot."""
    covenant = policy.covenant(convenant)
    if covenant is None:
        return None
    return covenant.rights.withheld_max.add_to(today)
