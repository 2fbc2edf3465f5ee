"""Secondary suppression over every sum a table holds, and measures on their own observations.

The rights table's ``Ontvangen`` is the sum of four other columns, the
referrers' ``Aangemeld`` at least the sum of two, and the OvJ median rests on
fewer decisions than the step's count: a hidden figure must follow from none
of them (docs/reports.md, small-count protection).
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

from gateway.policy.loader import load_policy_dir
from gateway.policy.models import Covenant
from gateway.reports.facts import EntryFacts
from gateway.reports.model import Cell, SumGroup, Table
from gateway.reports.period import Period
from gateway.reports.privacy import RightsFacts, build_privacy
from gateway.reports.protect import protect, protect_table
from tests.support.stack import REPO_POLICIES

HIDDEN = "< 5"
PERIOD = Period.of(date(2027, 3, 1), date(2027, 3, 31))
RECEIVED = datetime(2027, 3, 2, tzinfo=UTC)
DEADLINE = RECEIVED + timedelta(days=31)


def _covenant() -> Covenant:
    return load_policy_dir(REPO_POLICIES, require_keys=False).covenants[0]


def _rights(kind: str, on_time: int, late: int) -> list[RightsFacts]:
    done = [RECEIVED + timedelta(days=5)] * on_time + [DEADLINE + timedelta(days=3)] * late
    return [RightsFacts(kind, RECEIVED, DEADLINE, at, False) for at in done]


def test_received_minus_the_other_states_does_not_give_a_late_answer_away() -> None:
    """The review's case: 10 inzage requests, 9 in time, one late (t_rights.py)."""
    rights = _rights("inzage", 9, 1) + _rights("correctie", 12, 6)
    report = build_privacy(_covenant(), PERIOD, [], rights, 5, datetime(2027, 5, 1, tzinfo=UTC))
    table = protect(report).tables["rechten"]
    assert (table.columns[1], table.columns[4]) == ("Ontvangen", "Te laat afgehandeld")
    inzage = table.rows[0]
    assert inzage[4] == HIDDEN
    # Ontvangen = binnen + te laat + open (past) + open (within): never one hidden among them.
    assert sum(inzage[c] == HIDDEN for c in (1, 2, 4, 5, 6)) >= 2, inzage
    assert _undetermined(report.tables["rechten"], table)


def test_the_ovj_median_rests_on_its_own_decisions_not_on_the_steps_count() -> None:
    """Six grants of February requests and one of a March request: the median is one consent."""
    entries = [
        EntryFacts(i, datetime(2027, 3, 2 + i, tzinfo=UTC), "consent", "granted", "om-demo",
                   None, "c-1", None, None, None, f"oc-old{i}")
        for i in range(6)
    ]  # fmt: skip
    entries += [
        EntryFacts(7, datetime(2027, 3, 10, 9, tzinfo=UTC), "consent", "requested", "om-demo",
                   None, "c-1", None, None, None, "oc-x"),
        EntryFacts(8, datetime(2027, 3, 13, 15, 30, tzinfo=UTC), "consent", "granted", "om-demo",
                   None, "c-1", None, None, None, "oc-x"),
    ]  # fmt: skip
    report = build_privacy(_covenant(), PERIOD, entries, [], 5, datetime(2027, 4, 2, tzinfo=UTC))
    assert report.tables["ovj"].rows[1][1:] == [7, 3.27]
    rows = protect(report).tables["ovj"].rows
    assert rows[1] == ["Verleend", 7, HIDDEN]
    assert rows[2] == ["Geweigerd", 0, None]


def test_a_measure_with_enough_observations_of_its_own_is_shown() -> None:
    raw = Table(
        title="t",
        columns=["stap", "n", "mediaan"],
        rows=[["a", 9, 2.0], ["b", 9, 4.0]],
        measures={2: 1},
        observations={2: [5, 4]},
    )
    assert protect_table(raw, 5).rows == [["a", 9, 2.0], ["b", 9, HIDDEN]]


def test_hidden_parts_that_could_only_be_1_each_take_another_cell_with_them() -> None:
    raw = Table(title="t", columns=["r", "n"], rows=[["a", 10], ["b", 1], ["c", 1], ["T", 12]])
    raw.total_row = True
    assert [row[1] for row in protect_table(raw, 5).rows] == [HIDDEN, HIDDEN, HIDDEN, 12]
    # Two hidden small parts that leave 8: each would be 4 to a reader of "< 5".
    raw.rows = [["a", 20], ["b", 4], ["c", 4], ["T", 28]]
    assert [row[1] for row in protect_table(raw, 5).rows] == [HIDDEN, HIDDEN, HIDDEN, 28]


def test_a_whole_that_is_only_at_least_its_parts_still_pins_a_lone_one() -> None:
    """Aangemeld 6, Opgepakt 5: Niet opgepakt '< 5' could only be 1 (annual ``verwijzers``)."""
    raw = Table(
        title="t",
        columns=["Verwijzer", "Aangemeld", "Opgepakt", "Niet opgepakt"],
        rows=[["politie", 6, 5, 1], ["ggz", 20, 9, 8], ["Totaal", 26, 14, 9]],
        total_row=True,
        sums=(SumGroup(1, (2, 3), exact=False),),
    )
    rows = protect_table(raw, 5).rows
    assert rows[0] == ["politie", 6, HIDDEN, HIDDEN]
    assert _undetermined(raw, protect_table(raw, 5))


def test_random_tables_with_a_whole_in_front_hide_nothing_a_reader_can_work_out() -> None:
    """Brute force: every completion of the hidden cells that fits what is shown; each hidden
    cell must take at least two values across them (a hidden cell is never 0)."""
    rng = random.Random(5)
    for _ in range(80):
        parts = [[rng.choice([0, 0, 1, 2, 3, 6, 9]) for _ in range(2)] for _ in range(2)]
        rows: list[list[Cell]] = [[f"r{i}", sum(p), *p] for i, p in enumerate(parts)]
        rows.append(["T", *(sum(int(str(row[c])) for row in rows) for c in (1, 2, 3))])
        raw = Table(
            title="t",
            columns=["r", "heel", "a", "b"],
            rows=rows,
            total_row=True,
            sums=(SumGroup(1, (2, 3)),),
        )
        out = protect_table(raw, 5)
        shown = [cell for row in out.rows for cell in row[1:]]
        assert not [v for v in shown if isinstance(v, int) and 0 < v < 5], out.rows
        assert _undetermined(raw, out), (raw.rows, out.rows)


def _undetermined(raw: Table, out: Table) -> bool:
    """No hidden cell of ``out`` has one value in all completions that fit the visible cells.

    Works on tables whose last row is a total and whose first declared group's whole is
    the sum of its parts (or, inexact, at least that sum and then shown); the unknowns are
    the hidden parts of the body rows, each tried from 1 to its column's total.
    The body cells must be at most 9 where a column total is hidden.
    """
    group = raw.sums[0]
    body = range(len(raw.rows) - 1)
    columns = [group.whole, *group.parts]
    free = [(r, c) for r in body for c in group.parts if out.rows[r][c] == HIDDEN]
    # Under a hidden total, up to 10: above every body cell the random tables hold, so the
    # true completion is always among those tried, and two values found are two too many.
    ranges = [
        range(1, (10 if out.rows[-1][c] == HIDDEN else int(str(raw.rows[-1][c]))) + 1)
        for _r, c in free
    ]
    known = {(r, c): int(str(raw.rows[r][c])) for r in body for c in group.parts}
    seen: dict[tuple[int, int], set[int]] = {}
    for values in itertools.product(*ranges):
        _fits(raw, out, group, {**known, **dict(zip(free, values, strict=True))}, seen)
    hidden = [(r, c) for r, row in enumerate(out.rows) for c in columns if row[c] == HIDDEN]
    return all(len(seen.get(cell, ())) >= 2 for cell in hidden)


def _fits(
    raw: Table,
    out: Table,
    group: SumGroup,
    guess: dict[tuple[int, int], int],
    seen: dict[tuple[int, int], set[int]],
) -> bool:
    """Completes ``guess`` (wholes, totals); True and noted in ``seen`` if it fits the shown."""
    last = len(raw.rows) - 1
    full = dict(guess)
    for r in range(last):
        parts = sum(guess[(r, c)] for c in group.parts)
        full[(r, group.whole)] = parts if group.exact else int(str(raw.rows[r][group.whole]))
        if full[(r, group.whole)] < parts:
            return False
    for c in (group.whole, *group.parts):
        full[(last, c)] = sum(full[(r, c)] for r in range(last))
    for (r, c), value in full.items():
        shown = out.rows[r][c]
        if value < 1 if shown == HIDDEN else shown != value:
            return False
    for cell, value in full.items():
        seen.setdefault(cell, set()).add(value)
    return True
