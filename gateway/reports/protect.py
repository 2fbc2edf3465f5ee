"""Small-count protection: no report cell may single out a person.

The rule (docs/reports.md):

1. *Primary*: every count ``1 .. k-1`` (``k`` = ``suppressed_below``, default
   5) becomes the string ``"< k"``. Zero stays 0: it describes nobody.
2. *Measures*: a median (or any measure) is suppressed with the count it
   describes, and whenever it rests on fewer than ``k`` observations (its own
   count in ``Table.observations``, else that count), whatever its value.
3. *Secondary*: a *line* is a whole and its parts: every count column under a
   total row, and in every row each declared column group (``Table.sums``, a
   total column). One hidden cell in a line, part or whole, would be the
   whole minus the rest; hidden parts whose visible remainder leaves each of
   them exactly 1 (or exactly ``k-1``) would be read off as well; and a hidden
   cell may not follow from all lines together (a row sum and a column sum
   combined), which is checked by linear algebra over the hidden cells. Each
   time, the smallest other non-zero cell of the line is suppressed as well
   (or the whole, when there is no such cell), until nothing changes.

Protection works on a copy; the raw table never leaves this module's caller.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction

from gateway.reports.model import Cell, Report, Table

DEFAULT_THRESHOLD = 5

CellRef = tuple[int, int]


@dataclass(frozen=True)
class _Line:
    """Cells of one sum: ``whole`` = (or, if not ``exact``, ≥) the sum of ``parts``."""

    whole: CellRef
    parts: tuple[CellRef, ...]
    exact: bool

    def cells(self) -> tuple[CellRef, ...]:
        return (self.whole, *self.parts)


def marker(threshold: int) -> str:
    return f"< {threshold}"


def _small(value: Cell, threshold: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold


def _count(value: Cell) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def protect_table(table: Table, threshold: int) -> Table:
    out = copy.deepcopy(table)
    hidden = marker(threshold)
    counts = out.count_columns()
    suppressed = {
        (r, c) for r, row in enumerate(out.rows) for c in counts if _small(row[c], threshold)
    }
    _secondary(table.rows, _lines(table, counts), suppressed, threshold)
    for r, row in enumerate(out.rows):
        for c in counts:
            if (r, c) in suppressed:
                row[c] = hidden
        for measure, basis in out.measures.items():
            base = _count(table.rows[r][basis])
            seen = _observed(table, r, measure, base)
            if (r, basis) in suppressed or base < threshold or seen < threshold:
                shown = base and seen and table.rows[r][measure] is not None
                row[measure] = hidden if shown else None
    return out


def _observed(table: Table, row: int, measure: int, base: int) -> int:
    """How many observations the measure in ``row`` rests on: declared, else its count."""
    declared = table.observations.get(measure)
    if declared is None:
        return base
    return declared[row] if row < len(declared) else 0


def _lines(table: Table, counts: list[int]) -> list[_Line]:
    """Each declared row-wise group in every row, and each count column under a total row."""
    lines = [
        _Line((r, group.whole), tuple((r, c) for c in group.parts), group.exact)
        for group in table.sum_groups()
        for r in range(len(table.rows))
    ]
    last = len(table.rows) - 1
    if table.total_row and last > 0:
        lines += [_Line((last, c), tuple((r, c) for r in range(last)), True) for c in counts]
    return lines


def _secondary(
    rows: list[list[Cell]], lines: list[_Line], suppressed: set[CellRef], threshold: int
) -> None:
    while (target := _next(rows, lines, suppressed, threshold)) is not None:
        suppressed.add(target)


def _next(
    rows: list[list[Cell]], lines: list[_Line], suppressed: set[CellRef], threshold: int
) -> CellRef | None:
    """The next cell to hide, or None when no hidden cell can be worked out any more."""
    for line in lines:
        hidden = [cell for cell in line.cells() if cell in suppressed]
        lone = line.exact and len(hidden) == 1
        if hidden and (lone or _pinned(rows, line, suppressed, threshold)):
            target = _complement(rows, line, suppressed)
            if target is not None:
                return target
    for cell in _derivable(lines, suppressed):
        options = [
            target
            for line in lines
            if line.exact and cell in line.cells()
            for target in [_complement(rows, line, suppressed)]
            if target is not None
        ]
        if options:
            return min(options, key=lambda option: _count(rows[option[0]][option[1]]))
    return None


def _pinned(rows: list[list[Cell]], line: _Line, suppressed: set[CellRef], threshold: int) -> bool:
    """Beside a visible whole, hidden parts whose remainder leaves each no choice.

    Each hidden part is at least 1 (a zero is shown); when the whole minus the
    visible parts is no more than their number, each is 1. In an exact line a
    remainder of ``k-1`` per hidden part makes each ``k-1`` to a reader who
    takes the marker at its word, which is right when they are all small.
    """
    if line.whole in suppressed:
        return False
    hidden = [cell for cell in line.parts if cell in suppressed]
    if not hidden:
        return False
    rest = _count(rows[line.whole[0]][line.whole[1]]) - sum(
        _count(rows[r][c]) for r, c in line.parts if (r, c) not in suppressed
    )
    high = all(_small(rows[r][c], threshold) for r, c in hidden)
    return rest <= len(hidden) or (line.exact and high and rest == len(hidden) * (threshold - 1))


def _complement(rows: list[list[Cell]], line: _Line, suppressed: set[CellRef]) -> CellRef | None:
    """The smallest visible non-zero part of the line, else its whole if that is visible."""
    visible = [
        cell for cell in line.parts if cell not in suppressed and _count(rows[cell[0]][cell[1]])
    ]
    if visible:
        return min(visible, key=lambda cell: _count(rows[cell[0]][cell[1]]))
    whole = line.whole
    if whole not in suppressed and _count(rows[whole[0]][whole[1]]):
        return whole
    return None


def _derivable(lines: list[_Line], suppressed: set[CellRef]) -> list[CellRef]:
    """Hidden cells whose value follows from the exact lines taken together.

    Every exact line is an equation over its hidden cells (the visible ones
    are known numbers). A hidden cell can be computed exactly when its unit
    vector lies in the span of those equations: the equations are brought to
    echelon form and each unit vector reduced by them.
    """
    order = sorted(suppressed)
    index = {cell: i for i, cell in enumerate(order)}
    basis: list[tuple[int, list[Fraction]]] = []
    for line in lines:
        if not line.exact:
            continue
        row = [Fraction(0)] * len(order)
        for cell, sign in ((line.whole, 1), *((part, -1) for part in line.parts)):
            if cell in index:
                row[index[cell]] += sign
        row = _reduce(row, basis)
        pivot = next((i for i, value in enumerate(row) if value), None)
        if pivot is not None:
            lead = row[pivot]
            basis.append((pivot, [value / lead for value in row]))
    found: list[CellRef] = []
    for cell, i in index.items():
        unit = [Fraction(0)] * len(order)
        unit[i] = Fraction(1)
        if not any(_reduce(unit, basis)):
            found.append(cell)
    return found


def _reduce(row: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    for pivot, known in basis:
        factor = row[pivot]
        if factor:
            row = [value - factor * other for value, other in zip(row, known, strict=True)]
    return row


def protect(report: Report) -> Report:
    """The report as it may be shown: every table protected with the report's threshold."""
    if report.protected:
        return report
    tables = {
        name: protect_table(table, report.suppressed_below) for name, table in report.tables.items()
    }
    return Report(
        kind=report.kind,
        convenant=report.convenant,
        date_from=report.date_from,
        date_to=report.date_to,
        suppressed_below=report.suppressed_below,
        tables=tables,
        protected=True,
    )
