"""The OvJ's decision and revocation forms: read, check in Dutch, before the desk sees them.

The desk checks the same rules again (and is the authority); checking here
first lets the page answer in Dutch next to the field that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from starlette.datastructures import FormData

from gateway.subjects.bsn import holds_bsn

MAX_REASON = 4000


@dataclass(frozen=True)
class DecisionForm:
    values: Mapping[str, str]
    categories: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    decision: Literal["granted", "refused"] | None = None
    valid_until: date | None = None
    withheld_until: date | None = None
    version: int | None = None
    # What the OvJ ticked, as sent (to show the form again); ``sources``/``fields``
    # what the desk gets: None where nothing was narrowed (API.md §4).
    chosen_sources: tuple[str, ...] = ()
    chosen_fields: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None
    fields: dict[str, tuple[str, ...]] | None = None

    @property
    def reason(self) -> str:
        return self.values.get("reden", "")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def reason_error(text: str) -> str | None:
    if not text:
        return "Vul de reden van het besluit in."
    if len(text) > MAX_REASON or "\x00" in text:
        return f"Gebruik hoogstens {MAX_REASON} tekens."
    if holds_bsn(text):  # kept and shown in clear, as the API's Text refuses one
        return "Schrijf in de reden geen burgerservicenummer (BSN)."
    return None


def _sources(
    form: FormData, asked: tuple[str, ...], errors: dict[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The sources ticked; granted by name (fail closed: later sources are not covered).

    The hidden ``bronnen_getoond`` tells an empty choice from a form without the
    source list (a page rendered before any source answered, or another client).
    """
    chosen = tuple(str(s) for s in form.getlist("bron"))
    if not form.get("bronnen_getoond") or not asked:
        return chosen, None
    if not chosen or not set(chosen) <= set(asked):
        errors["bron"] = "Kies een of meer van de bronnen die antwoorden."
        return chosen, None
    return chosen, tuple(source for source in asked if source in chosen)


def _fields(
    form: FormData,
    categories: tuple[str, ...],
    asked: Mapping[str, tuple[str, ...]],
    errors: dict[str, str],
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]] | None]:
    """Per granted category the fields ticked (``categorie:veld``); all ticked is no narrowing."""
    chosen = tuple(str(f) for f in form.getlist("veld"))
    if not form.get("velden_getoond"):
        return chosen, None
    picked: dict[str, list[str]] = {}
    for value in chosen:
        category, _, name = value.partition(":")
        if name not in asked.get(category, ()):
            errors["veld"] = "Kies alleen velden van de gevraagde categorieën."
            return chosen, None
        picked.setdefault(category, []).append(name)
    narrowed: dict[str, tuple[str, ...]] = {}
    for category in categories:
        names = picked.get(category, [])
        if not names:
            errors["veld"] = "Kies per toegestane categorie minstens één veld."
            return chosen, None
        if set(names) != set(asked.get(category, ())):
            narrowed[category] = tuple(f for f in asked[category] if f in names)
    return chosen, narrowed or None


def parse_decision(
    form: FormData,
    *,
    asked_categories: tuple[str, ...],
    asked_recipients: tuple[str, ...],
    today: date,
    latest: date | None,
    latest_withheld: date | None = None,
    asked_sources: tuple[str, ...] = (),
    asked_fields: Mapping[str, tuple[str, ...]] | None = None,
) -> DecisionForm:
    values = {
        name: str(form.get(name, "")).strip()
        for name in ("besluit", "reden", "geldig_tot", "inzage_uitgesteld_tot", "versie")
    }
    categories = tuple(str(c) for c in form.getlist("categorie"))
    recipients = tuple(str(r) for r in form.getlist("ontvanger"))
    errors: dict[str, str] = {}
    problem = reason_error(values["reden"])
    if problem:
        errors["reden"] = problem
    decision: Literal["granted", "refused"] | None = None
    if values["besluit"] == "granted":
        decision = "granted"
    elif values["besluit"] == "refused":
        decision = "refused"
    else:
        errors["besluit"] = "Kies: toestemming verlenen of weigeren."
    valid_until = withheld_until = None
    chosen_sources = tuple(str(s) for s in form.getlist("bron"))
    chosen_fields = tuple(str(f) for f in form.getlist("veld"))
    sources: tuple[str, ...] | None = None
    fields: dict[str, tuple[str, ...]] | None = None
    if decision == "granted":
        chosen_sources, sources = _sources(form, asked_sources, errors)
        granted = tuple(c for c in asked_categories if c in categories)
        chosen_fields, fields = _fields(form, granted, asked_fields or {}, errors)
        if not categories or not set(categories) <= set(asked_categories):
            errors["categorie"] = "Kies een of meer van de gevraagde categorieën."
        if not recipients or not set(recipients) <= set(asked_recipients):
            errors["ontvanger"] = "Kies een of meer van de gevraagde ontvangers."
        valid_until = _day(values["geldig_tot"])
        if valid_until is None:
            errors["geldig_tot"] = "Vul in tot en met welke datum de toestemming geldt."
        elif valid_until < today:
            errors["geldig_tot"] = "De datum ligt in het verleden."
        elif latest is not None and valid_until > latest:
            errors["geldig_tot"] = (
                "Het convenant staat toestemming toe tot en met "
                f"{latest.strftime('%d-%m-%Y')} (consent_max)."
            )
        if values["inzage_uitgesteld_tot"]:
            withheld_until = _day(values["inzage_uitgesteld_tot"])
            if withheld_until is None or withheld_until < today:
                errors["inzage_uitgesteld_tot"] = "Vul een datum in die niet in het verleden ligt."
            elif latest_withheld is not None and withheld_until > latest_withheld:
                errors["inzage_uitgesteld_tot"] = (
                    "Het convenant staat uitstel toe tot en met "
                    f"{latest_withheld.strftime('%d-%m-%Y')} (withheld_max)."
                )
    return DecisionForm(
        values=values,
        categories=categories,
        recipients=recipients,
        errors=errors,
        decision=decision if not errors else None,
        valid_until=valid_until,
        withheld_until=withheld_until,
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses (a 500).
        version=int(values["versie"]) if re.fullmatch(r"[0-9]{1,9}", values["versie"]) else None,
        chosen_sources=chosen_sources,
        chosen_fields=chosen_fields,
        sources=sources,
        fields=fields,
    )
