"""Tables of one report that are sums of each other's rows are protected together.

``verstrekkingen_gevoeligheid`` is ``verstrekkingen_categorie`` summed per sensitivity,
``minderjarigen`` is ``leeftijd`` summed per age group, triage's *Opgepakt* is the
referrers' total: a cell hidden in one table must not come back as a row of the other
minus what the first still shows (docs/reports.md, small-count protection).
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime

from gateway.policy.loader import load_policy_dir
from gateway.policy.models import Covenant
from gateway.reports.annual import build_annual
from gateway.reports.facts import CaseFacts, EntryFacts
from gateway.reports.model import Cell, Report, Table
from gateway.reports.period import Period
from gateway.reports.privacy import build_privacy
from gateway.reports.protect import protect
from tests.support.stack import REPO_POLICIES

HIDDEN = "< 5"
PERIOD = Period.of(date(2027, 3, 1), date(2027, 3, 31))
NOW = datetime(2027, 5, 1, tzinfo=UTC)
BANDS = ("0–11 jaar", "12–17 jaar", "18–22 jaar", "23–29 jaar", "30–49 jaar", "50 jaar en ouder")
AGES = (5, 14, 20, 25, 40, 60)


def _covenant() -> Covenant:
    return load_policy_dir(REPO_POLICIES, require_keys=False).covenants[0]


def _privacy(plan: dict[str, int]) -> Report:
    entries = [
        EntryFacts(seq, datetime(2027, 3, 5, tzinfo=UTC), "disclosure", "ok", "gemeente-demo",
                   "p", "c", "politie-demo", category, "permitted", None)
        for seq, category in enumerate(c for c, n in plan.items() for _ in range(n))
    ]  # fmt: skip
    return build_privacy(_covenant(), PERIOD, entries, [], 5, NOW)


def _annual(cases: list[tuple[int, str, str]]) -> Report:
    """Cases as (age, referrer, triage outcome), all referred on 5 March."""
    opened = datetime(2027, 3, 5, tzinfo=UTC)
    facts = [
        CaseFacts(f"c{i}", "p", "triage", "open", "gemeente-demo", opened, None,
                  {"referrer": who, "triage_outcome": outcome, "municipality": "GM0114"},
                  (2027 - age,), 2027 - age)
        for i, (age, who, outcome) in enumerate(cases)
    ]  # fmt: skip
    return build_annual(_covenant(), PERIOD, facts, [], 5)


def _rows(table: Table) -> dict[Cell, list[Cell]]:
    return {row[0]: row for row in table.rows}


def test_a_sensitivity_total_does_not_give_back_its_one_hidden_category() -> None:
    """The review's case: Bijzonder 31 beside psychisch_welzijn 30 was middelengebruik 1."""
    raw = _privacy(
        {"huisvesting": 40, "inkomen_schulden": 2, "psychisch_welzijn": 30,
         "middelengebruik": 1, "justitiele_gegevens": 20, "detentie": 3}
    )  # fmt: skip
    shown = protect(raw)
    categories = shown.tables["verstrekkingen_categorie"]
    levels = shown.tables["verstrekkingen_gevoeligheid"]
    assert categories.columns == ["Categorie", "Gevoeligheid", "Aantal"]
    cats = _rows(categories)
    assert cats["middelengebruik"][1:] == ["Bijzonder", HIDDEN]
    for level in ("Gewoon", "Bijzonder", "Strafrechtelijk"):
        hidden = [r for r in categories.rows if r[1] == level and r[2] == HIDDEN]
        assert len(hidden) != 1 or _rows(levels)[level][1] == HIDDEN, (level, categories.rows)
    # The three sensitivities and the total still hold: the hidden categories don't follow.
    assert [row[1] for row in levels.rows] == [31, 42, 23, 96]


def test_minors_minus_the_shown_band_does_not_give_back_a_hidden_band() -> None:
    """0–11: 2 hidden, 12–17: 9 shown, Minderjarig 11: the two children were readable."""
    counts = (2, 9, 3, 20, 20, 20)
    raw = _annual(
        [
            (age, "politie-demo", "opgepakt")
            for age, n in zip(AGES, counts, strict=True)
            for _ in range(n)
        ]
    )
    shown = protect(raw)
    bands, minors = _rows(shown.tables["leeftijd"]), _rows(shown.tables["minderjarigen"])
    assert bands["0–11 jaar"][1] == HIDDEN
    assert bands["12–17 jaar"][1] == HIDDEN or minors["Minderjarig"][1] == HIDDEN
    assert _feasible_twice(raw, shown, *_AGE_GROUPS)


def test_triage_taken_up_does_not_give_back_the_referrers_hidden_total() -> None:
    """politie 10 referred, 9 taken up, 1 not; ggz 6 still in triage. Within ``verwijzers``
    the taken-up total 9 is hidden (politie's 9 would leave 1 not taken up); triage's
    *Opgepakt* 9 showed it again."""
    cases = [(30, "politie-demo", "opgepakt")] * 9 + [(30, "politie-demo", "niet_opgepakt")]
    cases += [(30, "ggz-demo", "lopend")] * 6
    shown = protect(_annual(cases))
    referrers = _rows(shown.tables["verwijzers"])
    triage = _rows(shown.tables["triage"])
    assert shown.tables["verwijzers"].columns == [
        "Verwijzer",
        "Aangemeld",
        "Opgepakt",
        "Niet opgepakt",
    ]
    assert referrers["Totaal"][2] == HIDDEN
    assert triage["Opgepakt"][1] == HIDDEN
    assert [10, HIDDEN, HIDDEN] in [row[1:] for row in shown.tables["verwijzers"].rows]


def test_tables_counting_the_same_disclosures_share_a_hidden_total() -> None:
    """Four sources, 4 each: the per-source total 16 would pin each at 4 (k−1) and is
    hidden; the sensitivity, month and recipient tables must not show it either."""
    entries = [
        EntryFacts(i, datetime(2027, 3, 5, tzinfo=UTC), "disclosure", "ok", "gemeente-demo",
                   "p", "c", source, "huisvesting", "permitted", None)
        for i, source in enumerate(
            s for s in ("politie-demo", "ggz-demo", "om-demo", "dji-demo") for _ in range(4)
        )
    ]  # fmt: skip
    shown = protect(build_privacy(_covenant(), PERIOD, entries, [], 5, NOW))
    assert _rows(shown.tables["verstrekkingen_bron"])["Totaal"][1] == HIDDEN
    for name, column in (
        ("verstrekkingen_ontvanger", 1),
        ("verstrekkingen_categorie", 2),
        ("verstrekkingen_gevoeligheid", 1),
        ("per_maand", 1),
    ):
        assert _rows(shown.tables[name])["Totaal"][column] == HIDDEN, name


def test_random_linked_tables_leave_every_hidden_cell_two_values() -> None:
    """Brute force over categories and sensitivities, and over age bands and minors: every
    completion of the hidden categories (bands) that fits all shown cells of both tables and
    the shown totals of the other tables; each hidden cell, in either table, must take at
    least two values across them."""
    rng = random.Random(11)
    names = ("huisvesting", "inkomen_schulden", "middelengebruik", "psychisch_welzijn", "detentie")
    for _ in range(30):
        raw = _privacy({name: rng.choice([0, 1, 2, 3, 6, 7]) for name in names})
        shown = protect(raw)
        assert not _small_shown(shown), shown.tables
        assert _feasible_twice(raw, shown, *_CATEGORIES), _dump(raw, shown, _CATEGORIES)
    for _ in range(40):
        counts = [rng.choice([0, 1, 2, 3, 6, 7]) for _ in range(4)] + [0, 0]
        raw = _annual(
            [
                (age, "politie-demo", "opgepakt")
                for age, n in zip(AGES, counts, strict=True)
                for _ in range(n)
            ]
        )
        shown = protect(raw)
        assert not _small_shown(shown), shown.tables
        assert _feasible_twice(raw, shown, *_AGE_GROUPS), _dump(raw, shown, _AGE_GROUPS)


# (part table, its count column, whole table, its count column, whole row -> its part rows
# by label and the label column, tables whose total (column) counts the same)
Link = tuple[str, int, str, int, int, tuple[tuple[str, int], ...]]
_CATEGORIES: Link = (
    "verstrekkingen_categorie", 2, "verstrekkingen_gevoeligheid", 1, 1,
    (("verstrekkingen_bron", 1), ("verstrekkingen_ontvanger", 1), ("per_maand", 1)),
)  # fmt: skip
_AGE_GROUPS: Link = (
    "leeftijd", 1, "minderjarigen", 1, 0,
    (("triage", 1), ("verwijzers", 1), ("regio", 1), ("per_maand", 1)),
)  # fmt: skip


def _group_of(part: str, label: Cell, row: list[Cell], column: int) -> Cell:
    if part == "leeftijd":
        if label in BANDS[:2]:
            return "Minderjarig"
        return "Meerderjarig" if label in BANDS else label
    return row[column]


def _feasible_twice(
    raw: Report,
    shown: Report,
    part: str,
    pc: int,
    whole: str,
    wc: int,
    group_column: int,
    same: tuple[tuple[str, int], ...],
) -> bool:
    """Every hidden count of ``part`` and ``whole`` takes two values over the completions.

    The unknowns are the hidden body cells of ``part``, each tried from 1 to one above the
    largest body count (so the true completion is among them, and two values found are
    two too many); the rest follows: ``part``'s total, ``whole``'s rows and total.
    """
    raw_part, out_part = raw.tables[part], shown.tables[part]
    body = range(len(raw_part.rows) - 1)
    free = [r for r in body if out_part.rows[r][pc] == HIDDEN]
    known = {r: int(str(raw_part.rows[r][pc])) for r in body}
    top = max(known.values(), default=0) + 1
    groups = {r: _group_of(part, raw_part.rows[r][0], raw_part.rows[r], group_column) for r in body}
    raw_whole, out_whole = raw.tables[whole], shown.tables[whole]
    totals = [
        shown.tables[name].rows[-1][column]
        for name, column in same
        if shown.tables[name].rows[-1][column] != HIDDEN
    ]
    seen: dict[tuple[str, int], set[int]] = {}
    for values in itertools.product(range(1, top + 1), repeat=len(free)):
        guess = {**known, **dict(zip(free, values, strict=True))}
        full = {(part, r): v for r, v in guess.items()}
        full[(part, len(body))] = total = sum(guess.values())
        for w, row in enumerate(raw_whole.rows[:-1]):
            full[(whole, w)] = sum(v for r, v in guess.items() if groups[r] == row[0])
        full[(whole, len(raw_whole.rows) - 1)] = total
        if any(t != total for t in totals):
            continue
        fits = all(
            value >= 1 if out == HIDDEN else out == value
            for (name, r), value in full.items()
            for out in [shown.tables[name].rows[r][pc if name == part else wc]]
        )
        if fits:
            for cell, value in full.items():
                seen.setdefault(cell, set()).add(value)
    hidden = [(part, r) for r, row in enumerate(out_part.rows) if row[pc] == HIDDEN]
    hidden += [(whole, r) for r, row in enumerate(out_whole.rows) if row[wc] == HIDDEN]
    return all(len(seen.get(cell, ())) >= 2 for cell in hidden)


def _small_shown(report: Report) -> list[Cell]:
    return [
        cell
        for table in report.tables.values()
        for row in table.rows
        for c, cell in enumerate(row)
        if c in table.count_columns() and isinstance(cell, int) and 0 < cell < 5
    ]


def _dump(raw: Report, shown: Report, link: Link) -> object:
    return [(raw.tables[n].rows, shown.tables[n].rows) for n in (link[0], link[2])]
