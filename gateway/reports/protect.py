"""Small-count protection: no report cell may single out a person.

The rule (docs/reports.md):

1. *Primary*: every count ``1 .. k-1`` (``k`` = ``suppressed_below``, default
   5) becomes the string ``"< k"``. Zero stays 0: it describes nobody.
2. *Measures*: a median (or any measure) that rests on fewer than ``k``
   observations is suppressed too, whatever its value.
3. *Secondary*: in a table with a total row or column, a line (row or column)
   that has exactly one suppressed cell next to a visible total would let a
   reader subtract it back; the smallest other non-zero cell of that line is
   suppressed as well (or the total, if there is no such cell). This repeats
   until no line has a lone suppressed cell.

Protection works on a copy; the raw table never leaves this module's caller.
"""

from __future__ import annotations

import copy

from gateway.reports.model import Cell, Report, Table

DEFAULT_THRESHOLD = 5


def marker(threshold: int) -> str:
    return f"< {threshold}"


def _small(value: Cell, threshold: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold


def protect_table(table: Table, threshold: int) -> Table:
    out = copy.deepcopy(table)
    hidden = marker(threshold)
    counts = out.count_columns()
    suppressed: set[tuple[int, int]] = set()
    for r, row in enumerate(out.rows):
        for c in counts:
            if _small(row[c], threshold):
                suppressed.add((r, c))
    _secondary(out, counts, suppressed)
    for r, row in enumerate(out.rows):
        for c in counts:
            if (r, c) in suppressed:
                row[c] = hidden
        for measure, basis in out.measures.items():
            base = table.rows[r][basis]
            if (r, basis) in suppressed or not isinstance(base, int) or base < threshold:
                row[measure] = hidden if base else None
    return out


def _lines(table: Table, counts: list[int]) -> list[list[tuple[int, int]]]:
    """Each row (when there is a total column) and each column (when there is a total row)."""
    lines: list[list[tuple[int, int]]] = []
    if table.total_column and counts:
        lines += [[(r, c) for c in counts] for r in range(len(table.rows))]
    if table.total_row and table.rows:
        lines += [[(r, c) for r in range(len(table.rows))] for c in counts]
    return lines


def _secondary(table: Table, counts: list[int], suppressed: set[tuple[int, int]]) -> None:
    lines = _lines(table, counts)
    changed = True
    while changed:
        changed = False
        for line in lines:
            total, parts = line[-1], line[:-1]
            hidden = [cell for cell in parts if cell in suppressed]
            if len(hidden) != 1 or total in suppressed:
                continue
            visible = [
                cell
                for cell in parts
                if cell not in suppressed and _positive(table.rows[cell[0]][cell[1]])
            ]
            target = (
                min(visible, key=lambda cell: int(table.rows[cell[0]][cell[1]] or 0))
                if visible
                else total
            )
            suppressed.add(target)
            changed = True


def _positive(value: Cell) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


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
