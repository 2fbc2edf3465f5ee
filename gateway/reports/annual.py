"""The annual (stuurgroep) report: referrals, triage, phases, closure, who and where.

Modelled on what ZVH annual reports give their stuurgroep and the regional
triangle (e.g. Drenthe 2020: referrals per partner, per municipality and per
domain, age groups and minors, cases crossing the region's border, cases not
taken up, throughput). A case counts in the period it was *referred* (opened);
closures count in the period they happened. Phases come from the log's case
entries, so "phase reached" is what happened, not what the case says now.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from statistics import median

from gateway.policy.models import Covenant
from gateway.reports.facts import UNKNOWN, CaseFacts, EntryFacts
from gateway.reports.model import (
    Cell,
    Report,
    SumGroup,
    Table,
    TableSum,
    body_rows,
    row_of,
    same_total,
)
from gateway.reports.period import Period

DEFAULT_PHASES = (
    "aanmelding",
    "signalering",
    "triage",
    "casusoverleg",
    "plan_van_aanpak",
    "uitvoering",
    "nazorg",
)
TAKEN_UP_PHASES = frozenset({"casusoverleg", "plan_van_aanpak", "uitvoering", "nazorg"})
PHASE_LABELS = {
    "aanmelding": "Aanmelding",
    "signalering": "Signalering",
    "triage": "Triage",
    "casusoverleg": "Casusoverleg",
    "plan_van_aanpak": "Plan van aanpak",
    "uitvoering": "Uitvoering",
    "nazorg": "Nazorg",
    "afgesloten": "Afgesloten",
}
TRIAGE_LABELS = {
    "opgepakt": "Opgepakt",
    "niet_opgepakt": "Niet opgepakt",
    "doorverwezen": "Doorverwezen",
    "lopend": "Nog in behandeling (triage)",
}
AGE_BANDS = (
    (0, 11, "0–11 jaar"),
    (12, 17, "12–17 jaar"),
    (18, 22, "18–22 jaar"),
    (23, 29, "23–29 jaar"),
    (30, 49, "30–49 jaar"),
    (50, 200, "50 jaar en ouder"),
)
TOTAL = "Totaal"
CASE_CHANGES = frozenset({"opened", "referred", "phase_changed", "closed", "mirror_opened"})


def phase_order(covenant: Covenant) -> list[str]:
    """The covenant's declared phases in chain order (``phases.transitions``), else the default."""
    declared = getattr(covenant, "phases", None)
    transitions = getattr(declared, "transitions", None)
    if isinstance(transitions, dict) and transitions:
        names = [str(name) for name in transitions]
        return [p for p in DEFAULT_PHASES if p in names] + [
            p for p in names if p not in DEFAULT_PHASES and p != "afgesloten"
        ]
    return list(DEFAULT_PHASES)


def _party_label(covenant: Covenant, party: str | None) -> str:
    if not party:
        return UNKNOWN
    for member in covenant.parties:
        if member.id == party:
            return member.name
    return party


def triage_outcome(case: CaseFacts, reached: set[str]) -> str:
    """The recorded triage outcome, else derived: past triage = taken up, closed before = not."""
    recorded = case.attribute("triage_outcome")
    if recorded in TRIAGE_LABELS:
        return str(recorded)
    if reached & TAKEN_UP_PHASES:
        return "opgepakt"
    if case.closed_at is not None:
        return "niet_opgepakt"
    return "lopend"


def age_at(case: CaseFacts) -> int | None:
    if case.main_birth_year is None:
        return None
    return case.created_at.year - case.main_birth_year


def age_band(age: int | None) -> str:
    if age is None:
        return UNKNOWN
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return UNKNOWN


def _counted(rows: Counter[str], label: str, order: Iterable[str] = ()) -> Table:
    order = list(order)
    ordered = order + sorted(k for k in rows if k not in order)
    body: list[list[Cell]] = [[key, rows[key]] for key in ordered]
    body.append([TOTAL, sum(rows.values())])
    return Table(title="", columns=[label, "Aantal"], rows=body, total_row=True)


def _timelines(entries: Iterable[EntryFacts]) -> dict[str, list[tuple[datetime, str]]]:
    lines: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for entry in entries:
        if entry.kind != "case" or entry.case is None or entry.outcome not in CASE_CHANGES:
            continue
        phase = "afgesloten" if entry.outcome == "closed" else entry.details.get("phase")
        if isinstance(phase, str):
            lines[entry.case].append((entry.time, phase))
    return lines


def _durations(line: list[tuple[datetime, str]]) -> dict[str, float]:
    """Days spent in each phase the case left (a phase still current has no duration yet)."""
    spent: dict[str, float] = defaultdict(float)
    for (start, phase), (end, _next) in itertools.pairwise(line):
        if phase != "afgesloten":
            spent[phase] += (end - start).total_seconds() / 86400
    return spent


def build_annual(
    covenant: Covenant,
    period: Period,
    cases: list[CaseFacts],
    entries: Iterable[EntryFacts],
    threshold: int,
) -> Report:
    referred = [case for case in cases if period.contains(case.created_at)]
    closed = [case for case in cases if case.closed_at and period.contains(case.closed_at)]
    timelines = _timelines(entries)
    phases = phase_order(covenant)
    reached: dict[str, set[str]] = {}
    for case in referred:
        seen = {phase for _time, phase in timelines.get(case.id, [])}
        reached[case.id] = seen or {case.phase}
    outcome = {case.id: triage_outcome(case, reached[case.id]) for case in referred}
    ages = {case.id: age_at(case) for case in referred}
    tables: dict[str, Table] = {}

    triage = Counter(outcome.values())
    table = _counted(
        Counter({TRIAGE_LABELS[k]: v for k, v in triage.items()}),
        "Uitkomst",
        [TRIAGE_LABELS[k] for k in TRIAGE_LABELS],
    )
    table.title, table.chart = "Aanmeldingen en triage", "bars"
    tables["triage"] = table

    per_referrer: dict[str, Counter[str]] = defaultdict(Counter)
    for case in referred:
        who = _party_label(covenant, case.attribute("referrer") or case.opened_by)
        per_referrer[who]["aangemeld"] += 1
        per_referrer[who][outcome[case.id]] += 1
    rows: list[list[Cell]] = [
        [who, c["aangemeld"], c["opgepakt"], c["niet_opgepakt"]]
        for who, c in sorted(per_referrer.items())
    ]
    rows.append([TOTAL, len(referred), triage["opgepakt"], triage["niet_opgepakt"]])
    tables["verwijzers"] = Table(
        title="Aanmeldingen per verwijzer",
        columns=["Verwijzer", "Aangemeld", "Opgepakt", "Niet opgepakt"],
        rows=rows,
        total_row=True,
        # Doorverwezen and still in triage are not shown: Aangemeld is at least the sum.
        sums=(SumGroup(whole=1, parts=(2, 3), exact=False),),
    )

    for name, attribute, label, title in (
        ("gemeenten", "municipality", "Gemeente", "Aanmeldingen per gemeente"),
        ("casustypen", "case_type", "Casustype", "Aanmeldingen per casustype"),
    ):
        table = _counted(Counter(case.attribute(attribute) or UNKNOWN for case in referred), label)
        table.title = title
        tables[name] = table

    funnel: list[list[Cell]] = [
        [PHASE_LABELS.get(phase, phase), sum(1 for case in referred if phase in reached[case.id])]
        for phase in phases
    ]
    funnel.append(
        [PHASE_LABELS["afgesloten"], sum(1 for case in referred if case.closed_at is not None)]
    )
    tables["fasen"] = Table(
        title="Bereikte fase (trechter)", columns=["Fase", "Casussen"], rows=funnel, chart="funnel"
    )

    spent: dict[str, list[float]] = defaultdict(list)
    for case in referred:
        for phase, days in _durations(timelines.get(case.id, [])).items():
            spent[phase].append(days)
    tables["doorlooptijd"] = Table(
        title="Doorlooptijd per fase (mediaan in dagen)",
        columns=["Fase", "Casussen", "Mediaan (dagen)"],
        rows=[
            [
                PHASE_LABELS.get(phase, phase),
                len(spent[phase]),
                round(median(spent[phase]), 1) if spent[phase] else None,
            ]
            for phase in phases
        ],
        measures={2: 1},
        chart="none",
    )

    table = _counted(
        Counter(case.attribute("closure_reason") or UNKNOWN for case in closed), "Reden"
    )
    table.title = "Afgesloten casussen per reden"
    tables["afsluitredenen"] = table

    table = _counted(
        Counter(age_band(ages[case.id]) for case in referred),
        "Leeftijdsgroep",
        [label for _low, _high, label in AGE_BANDS] + [UNKNOWN],
    )
    table.title = "Leeftijd hoofdpersoon bij aanmelding"
    tables["leeftijd"] = table

    minors = Counter(_minor(ages[case.id]) for case in referred)
    tables["minderjarigen"] = _share_table(
        "Minderjarigen (hoofdpersoon)", "Groep", minors, ["Minderjarig", "Meerderjarig", UNKNOWN]
    )

    regions = Counter(
        "Buiten de regio" if case.attribute("region") else "Binnen de regio" for case in referred
    )
    tables["regio"] = _share_table(
        "Bovenregionale casussen", "Woonplaats", regions, ["Binnen de regio", "Buiten de regio"]
    )

    months = period.months()
    referred_by_month = Counter(case.created_at.strftime("%Y-%m") for case in referred)
    closed_by_month = Counter(case.closed_at.strftime("%Y-%m") for case in closed if case.closed_at)
    month_rows: list[list[Cell]] = [
        [month, referred_by_month[month], closed_by_month[month]] for month in months
    ]
    month_rows.append([TOTAL, len(referred), len(closed)])
    tables["per_maand"] = Table(
        title="Aanmeldingen en afsluitingen per maand",
        columns=["Maand", "Aangemeld", "Afgesloten"],
        rows=month_rows,
        total_row=True,
        chart="months",
    )
    return Report(
        "annual", covenant.id, period.first, period.last, threshold, tables, links=_links(tables)
    )


def _links(tables: dict[str, Table]) -> tuple[TableSum, ...]:
    """What one table gives of another: every table of referrals counts the same total, the
    referrers' taken up / not are triage's rows, minors and adults are sums of age bands,
    and closures per month add up to closures per reason."""
    triage, ages = tables["triage"], tables["leeftijd"]
    referrers, minors = tables["verwijzers"], tables["minderjarigen"]
    last = len(referrers.rows) - 1
    links = [
        same_total("triage", triage, 1, name, tables[name], 1)
        for name in ("verwijzers", "gemeenten", "casustypen", "leeftijd", "minderjarigen")
    ]
    links += [
        same_total("triage", triage, 1, "regio", tables["regio"], 1),
        same_total("triage", triage, 1, "per_maand", tables["per_maand"], 1),
        same_total(
            "afsluitredenen", tables["afsluitredenen"], 1, "per_maand", tables["per_maand"], 2
        ),
    ]
    links += [
        TableSum(
            "triage", row_of(triage, TRIAGE_LABELS[key]), "verwijzers", (last,), ((1, column),)
        )
        for key, column in (("opgepakt", 2), ("niet_opgepakt", 3))
    ]
    bands = [label for _low, _high, label in AGE_BANDS]
    links += [
        TableSum(
            "minderjarigen",
            row_of(minors, group),
            "leeftijd",
            body_rows(ages, 0, labels),
            ((1, 1),),
        )
        for group, labels in (
            ("Minderjarig", bands[:2]),
            ("Meerderjarig", bands[2:]),
            (UNKNOWN, [UNKNOWN]),
        )
    ]
    return tuple(links)


def _minor(age: int | None) -> str:
    """Minor or adult by the age bands, so that each group is the sum of its bands."""
    band = age_band(age)
    if band == UNKNOWN:
        return UNKNOWN
    return "Minderjarig" if band in (AGE_BANDS[0][2], AGE_BANDS[1][2]) else "Meerderjarig"


def _share_table(title: str, label: str, counts: Counter[str], order: list[str]) -> Table:
    total = sum(counts.values())
    rows: list[list[Cell]] = [
        [key, counts[key], round(100 * counts[key] / total, 1) if total else None] for key in order
    ]
    rows.append([TOTAL, total, 100.0 if total else None])
    return Table(
        title=title,
        columns=[label, "Aantal", "Aandeel (%)"],
        rows=rows,
        measures={2: 1},
        total_row=True,
    )
