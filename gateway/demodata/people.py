"""Synthetic people and what each demo partner's bronregistratie holds about them.

Every BSN is an 11-proof number from the test range 999990000-999990099; no real
person has one. People are referred to by label ("persoon-a") in anything a
human reads, never by number.

Some partners add a field the covenant catalogue does not list
(`interne_notitie`), as real systems do; Ketenpoort must trim it (promise 4).
The woningcorporatie answers slowly in the demo to show a source timing out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from connectors.models import JsonValue
from gateway.subjects.bsn import Bsn

CATEGORY_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "huisvesting": ("woonsituatie", "sinds", "adres"),
    "inkomen_schulden": ("inkomen_bron", "schulden_indicatie", "bewindvoering"),
    "dagbesteding_arbeid_opleiding": ("dagbesteding", "werk_status", "opleiding"),
    "sociale_relaties": ("netwerk", "relatie_status"),
    "middelengebruik": ("middelen", "in_behandeling", "sinds"),
    "psychisch_welzijn": ("diagnose_samenvatting", "behandelaar", "in_zorg_sinds"),
    "denkwereld_gedrag": ("risicotaxatie", "gedrag_signalen"),
    "justitiele_gegevens": ("lopende_zaken", "bijzondere_voorwaarden", "proeftijd_tot"),
    "detentie": ("inrichting", "einddatum_detentie", "verlof"),
    "politie_contacten": ("aantal_incidenten", "laatste_incident", "pga_status"),
    "identiteitsbewijs": ("geldig_id", "verloopt_op"),
    "zorgverzekering": ("verzekerd", "zorgverzekeraar"),
}

CATEGORY_HOLDERS: Final[Mapping[str, tuple[str, ...]]] = {
    "huisvesting": ("gemeente-demo", "woningcorporatie-demo", "reclassering-demo"),
    "inkomen_schulden": ("gemeente-demo", "woningcorporatie-demo"),
    "dagbesteding_arbeid_opleiding": ("gemeente-demo", "reclassering-demo"),
    "sociale_relaties": ("gemeente-demo", "ggz-demo"),
    "middelengebruik": ("verslavingszorg-demo", "reclassering-demo"),
    "psychisch_welzijn": ("ggz-demo",),
    "denkwereld_gedrag": ("ggz-demo", "politie-demo", "reclassering-demo"),
    "justitiele_gegevens": ("politie-demo", "reclassering-demo"),
    "detentie": ("dji-demo",),
    "politie_contacten": ("politie-demo",),
    "identiteitsbewijs": ("gemeente-demo", "dji-demo"),
    "zorgverzekering": ("gemeente-demo", "dji-demo"),
}

DEMO_SOURCE_PARTIES: Final = (
    "politie-demo",
    "reclassering-demo",
    "ggz-demo",
    "verslavingszorg-demo",
    "woningcorporatie-demo",
    "dji-demo",
    "gemeente-demo",
)
EXTRA_FIELD: Final = "interne_notitie"
PARTIES_WITH_EXTRA_FIELD: Final = frozenset(
    {"politie-demo", "reclassering-demo", "woningcorporatie-demo"}
)
SLOW_PARTY: Final = "woningcorporatie-demo"
DEMO_DELAYS: Final[Mapping[str, float]] = {SLOW_PARTY: 5.0}


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A synthetic betrokkene; `label` and `situation` are safe to print, the BSN is not."""

    label: str
    bsn: Bsn
    situation: str
    known_to: frozenset[str]
    facts: Mapping[str, Mapping[str, JsonValue]] = field(repr=False)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as a demo source keeps it (with the subject it is about)."""

    id: str
    subject: Bsn
    category: str
    updated: datetime
    fields: Mapping[str, JsonValue] = field(repr=False)


_ALL = frozenset(DEMO_SOURCE_PARTIES)

_PEOPLE: Final = (
    DemoPerson(
        "persoon-a",
        Bsn("999990007"),
        "ex-gedetineerde, dakloos, schulden",
        _ALL,
        {
            "huisvesting": {
                "woonsituatie": "dakloos",
                "sinds": "2026-08-01",
                "adres": "postadres Stadsloket, Demostad",
            },
            "inkomen_schulden": {
                "inkomen_bron": "geen",
                "schulden_indicatie": "hoog",
                "bewindvoering": False,
            },
            "dagbesteding_arbeid_opleiding": {
                "dagbesteding": "geen",
                "werk_status": "werkloos",
                "opleiding": "vmbo",
            },
            "sociale_relaties": {"netwerk": "beperkt, zus", "relatie_status": "alleenstaand"},
            "middelengebruik": {
                "middelen": ["alcohol", "cannabis"],
                "in_behandeling": False,
                "sinds": "2019-03-01",
            },
            "psychisch_welzijn": {
                "diagnose_samenvatting": "PTSS (vermoeden)",
                "behandelaar": "GGZ Demo, team FACT",
                "in_zorg_sinds": "2025-11-15",
            },
            "denkwereld_gedrag": {
                "risicotaxatie": "verhoogd",
                "gedrag_signalen": ["agressie bij loket"],
            },
            "justitiele_gegevens": {
                "lopende_zaken": 1,
                "bijzondere_voorwaarden": ["meldplicht", "contactverbod"],
                "proeftijd_tot": "2028-02-01",
            },
            "detentie": {
                "inrichting": "PI Demo",
                "einddatum_detentie": "2026-09-30",
                "verlof": False,
            },
            "identiteitsbewijs": {"geldig_id": False, "verloopt_op": "2024-05-01"},
            "zorgverzekering": {"verzekerd": False, "zorgverzekeraar": None},
        },
    ),
    DemoPerson(
        "persoon-b",
        Bsn("999990019"),
        "huiselijk geweld, huurachterstand",
        frozenset({"politie-demo", "woningcorporatie-demo", "gemeente-demo", "ggz-demo"}),
        {
            "huisvesting": {
                "woonsituatie": "huurwoning",
                "sinds": "2018-06-01",
                "adres": "Lindelaan 12, Demostad",
            },
            "inkomen_schulden": {
                "inkomen_bron": "uitkering",
                "schulden_indicatie": "midden",
                "bewindvoering": True,
            },
            "sociale_relaties": {
                "netwerk": "partner, twee kinderen",
                "relatie_status": "samenwonend",
            },
            "denkwereld_gedrag": {
                "risicotaxatie": "hoog",
                "gedrag_signalen": ["huiselijk geweld", "dreiging"],
            },
            "psychisch_welzijn": {
                "diagnose_samenvatting": "depressieve klachten",
                "behandelaar": "huisarts + POH-GGZ",
                "in_zorg_sinds": "2026-01-10",
            },
            "justitiele_gegevens": {
                "lopende_zaken": 2,
                "bijzondere_voorwaarden": [],
                "proeftijd_tot": None,
            },
        },
    ),
    DemoPerson(
        "persoon-c",
        Bsn("999990020"),
        "verward gedrag, verslaving",
        frozenset({"ggz-demo", "verslavingszorg-demo", "politie-demo", "gemeente-demo"}),
        {
            "huisvesting": {
                "woonsituatie": "begeleid wonen",
                "sinds": "2025-02-01",
                "adres": "Kastanjehof 3, Demostad",
            },
            "middelengebruik": {
                "middelen": ["amfetamine"],
                "in_behandeling": True,
                "sinds": "2021-07-01",
            },
            "psychisch_welzijn": {
                "diagnose_samenvatting": "psychotische stoornis",
                "behandelaar": "GGZ Demo, kliniek",
                "in_zorg_sinds": "2020-04-01",
            },
            "denkwereld_gedrag": {
                "risicotaxatie": "midden",
                "gedrag_signalen": ["verward gedrag op straat"],
            },
            "justitiele_gegevens": {
                "lopende_zaken": 0,
                "bijzondere_voorwaarden": [],
                "proeftijd_tot": None,
            },
            "sociale_relaties": {"netwerk": "moeder", "relatie_status": "alleenstaand"},
        },
    ),
    DemoPerson(
        "persoon-d",
        Bsn("999990032"),
        "veelpleger, proeftijd",
        frozenset({"politie-demo", "reclassering-demo", "dji-demo", "gemeente-demo"}),
        {
            "huisvesting": {
                "woonsituatie": "bij familie",
                "sinds": "2026-03-15",
                "adres": "Beukenstraat 40, Demostad",
            },
            "dagbesteding_arbeid_opleiding": {
                "dagbesteding": "leerwerktraject",
                "werk_status": "parttime",
                "opleiding": "mbo-2 (lopend)",
            },
            "justitiele_gegevens": {
                "lopende_zaken": 3,
                "bijzondere_voorwaarden": ["enkelband", "locatieverbod"],
                "proeftijd_tot": "2027-06-30",
            },
            "denkwereld_gedrag": {
                "risicotaxatie": "hoog",
                "gedrag_signalen": ["winkeldiefstal", "geweld"],
            },
            "middelengebruik": {
                "middelen": ["cocaïne"],
                "in_behandeling": False,
                "sinds": "2022-01-01",
            },
            "detentie": {
                "inrichting": "PI Demo",
                "einddatum_detentie": "2026-03-01",
                "verlof": False,
            },
            "identiteitsbewijs": {"geldig_id": True, "verloopt_op": "2031-01-20"},
            "zorgverzekering": {"verzekerd": True, "zorgverzekeraar": "Demo Zorg"},
        },
    ),
    DemoPerson(
        "persoon-e",
        Bsn("999990044"),
        "jongere, schooluitval",
        frozenset({"gemeente-demo", "politie-demo"}),
        {
            "dagbesteding_arbeid_opleiding": {
                "dagbesteding": "geen",
                "werk_status": "geen",
                "opleiding": "vmbo (gestopt)",
            },
            "sociale_relaties": {
                "netwerk": "ouders, vriendengroep",
                "relatie_status": "thuiswonend",
            },
            "denkwereld_gedrag": {
                "risicotaxatie": "laag",
                "gedrag_signalen": ["overlast in groep"],
            },
            "justitiele_gegevens": {
                "lopende_zaken": 1,
                "bijzondere_voorwaarden": ["HALT"],
                "proeftijd_tot": None,
            },
        },
    ),
    DemoPerson(
        "persoon-f",
        Bsn("999990056"),
        "uitstroom detentie zonder id en verzekering",
        frozenset({"dji-demo", "reclassering-demo", "gemeente-demo"}),
        {
            "detentie": {
                "inrichting": "PI Noord Demo",
                "einddatum_detentie": "2026-12-01",
                "verlof": True,
            },
            "identiteitsbewijs": {"geldig_id": False, "verloopt_op": "2025-08-14"},
            "zorgverzekering": {"verzekerd": False, "zorgverzekeraar": None},
            "huisvesting": {
                "woonsituatie": "onbekend na detentie",
                "sinds": "2026-12-01",
                "adres": None,
            },
            "justitiele_gegevens": {
                "lopende_zaken": 0,
                "bijzondere_voorwaarden": ["reclasseringstoezicht"],
                "proeftijd_tot": "2028-12-01",
            },
            "dagbesteding_arbeid_opleiding": {
                "dagbesteding": "arbeid in PI",
                "werk_status": "geen",
                "opleiding": "mbo-1",
            },
        },
    ),
    DemoPerson(
        "persoon-g",
        Bsn("999990068"),
        "schulden en verslaving",
        frozenset({"verslavingszorg-demo", "woningcorporatie-demo", "gemeente-demo"}),
        {
            "middelengebruik": {
                "middelen": ["alcohol"],
                "in_behandeling": True,
                "sinds": "2015-09-01",
            },
            "inkomen_schulden": {
                "inkomen_bron": "loon",
                "schulden_indicatie": "hoog",
                "bewindvoering": False,
            },
            "huisvesting": {
                "woonsituatie": "huurwoning, ontruiming dreigt",
                "sinds": "2012-04-01",
                "adres": "Eikenplein 7, Demostad",
            },
        },
    ),
    DemoPerson(
        "persoon-h",
        Bsn("999990081"),
        "zorgmijder",
        frozenset({"ggz-demo", "politie-demo"}),
        {
            "psychisch_welzijn": {
                "diagnose_samenvatting": "onbekend, zorg geweigerd",
                "behandelaar": None,
                "in_zorg_sinds": None,
            },
            "denkwereld_gedrag": {
                "risicotaxatie": "midden",
                "gedrag_signalen": ["burenruzies", "dreigende taal"],
            },
            "politie_contacten": {
                "aantal_incidenten": 4,
                "laatste_incident": "2026-10-12",
                "pga_status": "aangemeld",
            },
        },
    ),
    DemoPerson(
        "persoon-i",
        Bsn("999990093"),
        "alleen bekend bij de gemeente",
        frozenset({"gemeente-demo"}),
        {
            "huisvesting": {
                "woonsituatie": "koopwoning",
                "sinds": "2010-01-01",
                "adres": "Wilgenweg 2, Demostad",
            },
            "zorgverzekering": {"verzekerd": True, "zorgverzekeraar": "Demo Zorg"},
        },
    ),
)

_INTERNAL_NOTES: Final[Mapping[str, str]] = {
    "politie-demo": "BOA-melding, niet delen",
    "reclassering-demo": "werkhypothese toezichthouder",
    "woningcorporatie-demo": "buren klagen over geluid",
}


def demo_people() -> tuple[DemoPerson, ...]:
    """The nine synthetic people, in label order."""
    return _PEOPLE


def _record_prefix(party: str) -> str:
    return party.removesuffix("-demo")[:4]


def demo_records() -> dict[str, list[SourceRecord]]:
    """Every demo source's records, keyed by party id; deterministic across runs."""
    records: dict[str, list[SourceRecord]] = {party: [] for party in DEMO_SOURCE_PARTIES}
    for person_index, person in enumerate(_PEOPLE):
        for category, values in person.facts.items():
            for party in CATEGORY_HOLDERS[category]:
                if party not in person.known_to:
                    continue
                fields = dict(values)
                if party in PARTIES_WITH_EXTRA_FIELD:
                    fields[EXTRA_FIELD] = _INTERNAL_NOTES[party]
                serial = len(records[party]) + 1
                records[party].append(
                    SourceRecord(
                        id=f"{_record_prefix(party)}-{serial:04d}",
                        subject=person.bsn,
                        category=category,
                        updated=datetime(2026, 10, 1 + person_index, 9, tzinfo=UTC),
                        fields=fields,
                    )
                )
    return records
