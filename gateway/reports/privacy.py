"""The privacy report (AVG art. 5(2) accountability): what left, what was refused, and why.

Disclosures by source, recipient, category and sensitivity; denials by
reason (an aggregated denial entry counts each denied source/category pair);
OvJ consent requests and decisions with the median time to decide; rights
requests by type against their deadlines; federation traffic per peer region.
Everything comes from the log's clear columns and the rights register's
dates, never from a sealed field.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median

from gateway.policy.models import Covenant
from gateway.reports.annual import TOTAL
from gateway.reports.facts import UNKNOWN, EntryFacts
from gateway.reports.model import (
    Cell,
    Report,
    SumGroup,
    Table,
    TableSum,
    body_rows,
    same_total,
)
from gateway.reports.period import Period

SENSITIVITY_LABELS = {
    "gewoon": "Gewoon",
    "bijzonder": "Bijzonder",
    "strafrechtelijk": "Strafrechtelijk",
}
CONSENT_STEPS = (
    ("requested", "Verzoeken"),
    ("granted", "Verleend"),
    ("refused", "Geweigerd"),
    ("revoked", "Ingetrokken"),
    ("expired", "Verlopen"),
)
RIGHTS_TYPES = ("inzage", "correctie", "verzet", "verwijdering", "beperking")


@dataclass(frozen=True)
class RightsFacts:
    """A rights request's type and dates (no subject, no text)."""

    type: str
    received_at: datetime
    deadline: datetime
    decided_at: datetime | None
    extended: bool


def _counted(title: str, label: str, counts: Counter[str]) -> Table:
    rows: list[list[Cell]] = [[key, counts[key]] for key in sorted(counts)]
    rows.append([TOTAL, sum(counts.values())])
    return Table(title=title, columns=[label, "Aantal"], rows=rows, total_row=True)


def _denied_pairs(entry: EntryFacts) -> list[str]:
    """One reason per denied (source, category): the aggregated entry lists them in details."""
    pairs = [
        str(value) for key, value in entry.details.items() if "/" in key and isinstance(value, str)
    ]
    return pairs or [entry.reason or UNKNOWN]


def build_privacy(
    covenant: Covenant,
    period: Period,
    entries: Iterable[EntryFacts],
    rights: list[RightsFacts],
    threshold: int,
    now: datetime | None = None,
) -> Report:
    now = now or datetime.now(UTC)
    names = {party.id: party.name for party in covenant.parties}
    sensitivity = {category.id: category.sensitivity for category in covenant.categories}
    by_source: Counter[str] = Counter()
    by_recipient: Counter[str] = Counter()
    by_category: Counter[tuple[str, str]] = Counter()
    by_sensitivity: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    months: dict[str, Counter[str]] = defaultdict(Counter)
    consent_steps: Counter[str] = Counter()
    requested_at: dict[str, datetime] = {}
    decision_days: dict[str, list[float]] = defaultdict(list)
    peers: dict[str, Counter[str]] = defaultdict(Counter)

    for entry in entries:
        month = entry.time.strftime("%Y-%m")
        federation = entry.details.get("federation")
        if isinstance(federation, str):
            _federation(peers, entry, federation)
        if entry.kind == "disclosure" and entry.outcome == "ok":
            by_source[names.get(entry.source or "", entry.source or UNKNOWN)] += 1
            by_recipient[names.get(entry.party or "", entry.party or UNKNOWN)] += 1
            level = sensitivity.get(entry.category or "", UNKNOWN)
            by_category[(entry.category or UNKNOWN, SENSITIVITY_LABELS.get(level, level))] += 1
            by_sensitivity[SENSITIVITY_LABELS.get(level, level)] += 1
            months[month]["disclosures"] += 1
        elif entry.kind == "decision" and entry.outcome == "denied":
            for reason in _denied_pairs(entry):
                denials[reason] += 1
                months[month]["denials"] += 1
        elif entry.kind == "consent" and entry.consent_id:
            consent_steps[entry.outcome] += 1
            if entry.outcome == "requested":
                requested_at.setdefault(entry.consent_id, entry.time)
            elif entry.outcome in ("granted", "refused") and entry.consent_id in requested_at:
                days = (entry.time - requested_at[entry.consent_id]).total_seconds() / 86400
                decision_days[entry.outcome].append(days)

    tables: dict[str, Table] = {
        "verstrekkingen_bron": _counted("Verstrekkingen per bron", "Bron", by_source),
        "verstrekkingen_ontvanger": _counted(
            "Verstrekkingen per ontvanger", "Ontvanger", by_recipient
        ),
    }
    rows: list[list[Cell]] = [[cat, level, n] for (cat, level), n in sorted(by_category.items())]
    rows.append([TOTAL, "", sum(by_category.values())])
    tables["verstrekkingen_categorie"] = Table(
        title="Verstrekkingen per categorie",
        columns=["Categorie", "Gevoeligheid", "Aantal"],
        rows=rows,
        labels=2,
        total_row=True,
    )
    tables["verstrekkingen_gevoeligheid"] = _counted(
        "Verstrekkingen per gevoeligheid", "Gevoeligheid", by_sensitivity
    )
    tables["weigeringen"] = _counted("Weigeringen per reden", "Reden", denials)
    tables["ovj"] = Table(
        title="Toestemming Officier van Justitie",
        columns=["Stap", "Aantal", "Mediaan besluittijd (dagen)"],
        rows=[
            [
                label,
                consent_steps[step],
                round(median(decision_days[step]), 2) if decision_days.get(step) else None,
            ]
            for step, label in CONSENT_STEPS
        ],
        measures={2: 1},
        # The median is over decisions whose request also falls in the period: often
        # fewer than the step's count, and that smaller number is what must reach k.
        observations={2: [len(decision_days.get(step, ())) for step, _label in CONSENT_STEPS]},
    )
    tables["rechten"] = _rights_table(rights, now)
    peer_rows: list[list[Cell]] = [
        [names.get(peer, peer), c["uitgaand"], c["inkomend"], c["geweigerd"]]
        for peer, c in sorted(peers.items())
    ]
    peer_rows.append(
        [
            TOTAL,
            *(sum(c[key] for c in peers.values()) for key in ("uitgaand", "inkomend", "geweigerd")),
        ]
    )
    tables["federatie"] = Table(
        title="Federatieverkeer per regio",
        columns=["Regio", "Uitgaand", "Inkomend", "Geweigerd"],
        rows=peer_rows,
        total_row=True,
    )
    month_rows: list[list[Cell]] = [
        [month, months[month]["disclosures"], months[month]["denials"]] for month in period.months()
    ]
    month_rows.append(
        [
            TOTAL,
            sum(c["disclosures"] for c in months.values()),
            sum(c["denials"] for c in months.values()),
        ]
    )
    tables["per_maand"] = Table(
        title="Verstrekkingen en weigeringen per maand",
        columns=["Maand", "Verstrekkingen", "Weigeringen"],
        rows=month_rows,
        total_row=True,
        chart="months",
    )
    return Report(
        "privacy", covenant.id, period.first, period.last, threshold, tables, links=_links(tables)
    )


def _links(tables: dict[str, Table]) -> tuple[TableSum, ...]:
    """What one table gives of another: each sensitivity is the sum of its categories, and
    every table of disclosures (and both of denials) counts the same total."""
    levels = tables["verstrekkingen_gevoeligheid"]
    categories = tables["verstrekkingen_categorie"]
    links = [
        TableSum(
            "verstrekkingen_gevoeligheid",
            r,
            "verstrekkingen_categorie",
            body_rows(categories, 1, [row[0]]),
            ((1, 2),),
        )
        for r, row in enumerate(levels.rows[:-1])
    ]
    links += [
        same_total("verstrekkingen_gevoeligheid", levels, 1, name, tables[name], column)
        for name, column in (
            ("verstrekkingen_categorie", 2),
            ("verstrekkingen_bron", 1),
            ("verstrekkingen_ontvanger", 1),
            ("per_maand", 1),
        )
    ]
    links.append(
        same_total("weigeringen", tables["weigeringen"], 1, "per_maand", tables["per_maand"], 2)
    )
    return tuple(links)


def _federation(peers: dict[str, Counter[str]], entry: EntryFacts, flow: str) -> None:
    """Outgoing questions name the peer as source; incoming ones come from the peer as party."""
    if flow == "known_elsewhere":
        peer, direction = entry.source, "uitgaand"
    else:
        peer, direction = entry.party, "inkomend"
    key = peer or UNKNOWN
    peers[key][direction] += 1
    if entry.outcome == "denied":
        peers[key]["geweigerd"] += 1


def _rights_table(rights: list[RightsFacts], now: datetime) -> Table:
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in RIGHTS_TYPES}
    for item in rights:
        row = counts.setdefault(item.type, Counter())
        row["ontvangen"] += 1
        if item.extended:
            row["verlengd"] += 1
        if item.decided_at is not None:
            row["binnen" if item.decided_at <= item.deadline else "te_laat"] += 1
        elif item.deadline < now:
            row["over_termijn"] += 1
        else:
            row["open"] += 1
    keys = ("ontvangen", "binnen", "verlengd", "te_laat", "over_termijn", "open")
    rows: list[list[Cell]] = [[kind, *(c[key] for key in keys)] for kind, c in counts.items()]
    rows.append([TOTAL, *(sum(c[key] for c in counts.values()) for key in keys)])
    return Table(
        title="Verzoeken van betrokkenen en termijnen",
        columns=[
            "Soort",
            "Ontvangen",
            "Binnen termijn afgehandeld",
            "Verlengd",
            "Te laat afgehandeld",
            "Open, termijn verstreken",
            "Open, binnen termijn",
        ],
        rows=rows,
        total_row=True,
        # Every request is in exactly one of the four states; Verlengd overlaps them.
        sums=(SumGroup(whole=1, parts=(2, 4, 5, 6)),),
        chart="gauge",
    )
