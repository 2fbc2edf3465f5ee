"""Small-count protection on raw tables: primary, secondary (totals) and measures."""

from __future__ import annotations

import random

from gateway.reports.model import Table
from gateway.reports.protect import protect_table


def _table(rows: list[list[object]], **kw: object) -> Table:
    return Table(title="t", columns=["label", "n"], rows=rows, **kw)  # type: ignore[arg-type]


def test_counts_under_the_threshold_become_a_marker_and_zero_stays() -> None:
    out = protect_table(_table([["a", 0], ["b", 1], ["c", 4], ["d", 5], ["e", 17]]), 5)
    assert [row[1] for row in out.rows] == [0, "< 5", "< 5", 5, 17]


def test_a_lone_suppressed_cell_next_to_a_total_takes_the_next_smallest_with_it() -> None:
    raw = _table([["a", 3], ["b", 6], ["c", 40], ["Totaal", 49]], total_row=True)
    out = protect_table(raw, 5)
    assert [row[1] for row in out.rows] == ["< 5", "< 5", 40, 49]


def test_no_other_cell_means_the_total_is_hidden() -> None:
    out = protect_table(_table([["a", 3], ["b", 0], ["Totaal", 3]], total_row=True), 5)
    assert [row[1] for row in out.rows] == ["< 5", 0, "< 5"]


def test_a_measure_on_few_observations_is_hidden() -> None:
    raw = Table(
        title="t",
        columns=["fase", "n", "mediaan"],
        rows=[["triage", 3, 2.5], ["overleg", 9, 12.0], ["nazorg", 0, None]],
        measures={2: 1},
    )
    out = protect_table(raw, 5)
    assert out.rows == [["triage", "< 5", "< 5"], ["overleg", 9, 12.0], ["nazorg", 0, None]]


def test_threshold_is_configurable() -> None:
    out = protect_table(_table([["a", 7], ["b", 12]]), 10)
    assert [row[1] for row in out.rows] == ["< 10", 12]


def test_random_tables_never_show_a_small_count_nor_a_recoverable_one() -> None:
    rng = random.Random(3)
    for _ in range(300):
        values = [rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 20]) for _ in range(rng.randint(1, 6))]
        rows: list[list[object]] = [[f"r{i}", v] for i, v in enumerate(values)]
        rows.append(["Totaal", sum(values)])
        out = protect_table(_table(rows, total_row=True), 5)
        shown = [row[1] for row in out.rows]
        assert not [v for v in shown if isinstance(v, int) and 0 < v < 5]
        hidden = [i for i, v in enumerate(shown[:-1]) if v == "< 5"]
        if shown[-1] != "< 5":
            assert len(hidden) != 1, (values, shown)
