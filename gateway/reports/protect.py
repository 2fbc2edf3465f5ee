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
   (or the whole, when there is no such cell), until nothing changes. Two
   exact lines sharing a hidden cell are also added and subtracted: what is
   left may pin hidden cells at 1 that neither line pins alone.
4. *Linked tables*: a report's ``links`` say that a row of one table is the
   sum of rows of another; linked tables are protected as one grid, so a
   cell hidden in one is never given back by the other.

Protection works on a copy; the raw table never leaves this module's caller.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from gateway.reports.model import Cell, Report, Table, TableSum

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
    return _protect_joint({"": table}, (), threshold)[""]


def _protect_joint(
    tables: dict[str, Table], links: Iterable[TableSum], threshold: int
) -> dict[str, Table]:
    """Linked tables protected as one: their cells in one grid, their sums as lines over it.

    Each table's rows are laid end to end (a table's cell ``(r, c)`` is ``(start + r, c)``),
    so the secondary suppression, the pinning and the linear algebra see a hidden cell in
    one table and the cross-table sums that could give it back from another.
    """
    rows: list[list[Cell]] = []
    start: dict[str, int] = {}
    lines: list[_Line] = []
    suppressed: set[CellRef] = set()
    for name, table in tables.items():
        start[name] = base = len(rows)
        rows.extend(table.rows)
        counts = table.count_columns()
        lines += [_shift(line, base) for line in _lines(table, counts)]
        suppressed |= {
            (base + r, c)
            for r, row in enumerate(table.rows)
            for c in counts
            if _small(row[c], threshold)
        }
    for link in links:
        whole, part = start[link.whole], start[link.part]
        lines += [
            _Line((whole + link.row, wc), tuple((part + r, pc) for r in link.rows), True)
            for wc, pc in link.columns
        ]
    _secondary(rows, lines, suppressed, threshold)
    return {
        name: _shown(
            table,
            {(r - start[name], c) for r, c in suppressed if 0 <= r - start[name] < len(table.rows)},
            threshold,
        )
        for name, table in tables.items()
    }


def _shift(line: _Line, base: int) -> _Line:
    return _Line(
        (line.whole[0] + base, line.whole[1]),
        tuple((r + base, c) for r, c in line.parts),
        line.exact,
    )


def _shown(table: Table, suppressed: set[CellRef], threshold: int) -> Table:
    """A copy of ``table`` with the suppressed counts and the measures they carry hidden."""
    out = copy.deepcopy(table)
    hidden = marker(threshold)
    counts = out.count_columns()
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
    for first, second in _pinned_pairs(rows, lines, suppressed):
        options = [
            target
            for line in (first, second)
            for target in [_complement(rows, line, suppressed)]
            if target is not None
        ]
        if options:
            return min(options, key=lambda option: _count(rows[option[0]][option[1]]))
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


def _equation(rows: list[list[Cell]], line: _Line, suppressed: set[CellRef]) -> _Equation:
    """An exact line as ``sum(coefficient * hidden cell) == constant``."""
    terms: dict[CellRef, int] = {}
    constant = 0
    for cell, sign in ((line.whole, 1), *((part, -1) for part in line.parts)):
        if cell in suppressed:
            terms[cell] = terms.get(cell, 0) + sign
        else:
            constant -= sign * _count(rows[cell[0]][cell[1]])
    return terms, constant


_Equation = tuple[dict[CellRef, int], int]


def _pinned_pairs(
    rows: list[list[Cell]], lines: list[_Line], suppressed: set[CellRef]
) -> list[tuple[_Line, _Line]]:
    """Two exact lines sharing a hidden cell whose sum or difference pins hidden cells at 1.

    ``Bijzonder`` (hidden) = ``middelengebruik`` (hidden) + 7 and ``Bijzonder`` +
    ``Strafrechtelijk`` (hidden) = 9 leave ``middelengebruik`` + ``Strafrechtelijk`` = 2:
    each is 1, though neither line alone says so.
    """
    exact = [(line, _equation(rows, line, suppressed)) for line in lines if line.exact]
    exact = [(line, eq) for line, eq in exact if eq[0]]
    found: list[tuple[_Line, _Line]] = []
    for (one, (a, ca)), (two, (b, cb)) in itertools.combinations(exact, 2):
        if not a.keys() & b.keys():
            continue
        for sign in (1, -1):
            terms = {cell: a.get(cell, 0) + sign * b.get(cell, 0) for cell in a.keys() | b.keys()}
            terms = {cell: value for cell, value in terms.items() if value}
            constant = ca + sign * cb
            if terms and set(terms.values()) == {-1}:
                terms, constant = {cell: 1 for cell in terms}, -constant
            if terms and set(terms.values()) == {1} and constant <= len(terms):
                found.append((one, two))
    return found


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


def _components(report: Report) -> list[list[str]]:
    """The report's tables grouped by its cross-table sums: each group is protected as one."""
    group = {name: {name} for name in report.tables}
    for link in report.links:
        joined = group[link.whole] | group[link.part]
        for name in joined:
            group[name] = joined
    seen: list[list[str]] = []
    for name in report.tables:
        members = [other for other in report.tables if other in group[name]]
        if members not in seen:
            seen.append(members)
    return seen


def protect(report: Report) -> Report:
    """The report as it may be shown: every table protected with the report's threshold,
    tables linked by a cross-table sum (``Report.links``) together."""
    if report.protected:
        return report
    tables: dict[str, Table] = {}
    for members in _components(report):
        names = set(members)
        links = [link for link in report.links if link.whole in names]
        joint = {name: report.tables[name] for name in members}
        tables.update(_protect_joint(joint, links, report.suppressed_below))
    return Report(
        kind=report.kind,
        convenant=report.convenant,
        date_from=report.date_from,
        date_to=report.date_to,
        suppressed_below=report.suppressed_below,
        tables={name: tables[name] for name in report.tables},
        protected=True,
        links=report.links,
    )
