"""The shape of a report (API §9): named tables of labels and counts, before and after protection.

A :class:`Table` holds raw figures (ints) while it is computed; only
:func:`gateway.reports.protect.protect` turns it into what may leave the
gateway, where every small count is the string ``"< 5"``. Renderers (JSON,
CSV, HTML, the page) only ever receive a protected :class:`Report`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Cell = str | int | float | None
ChartKind = Literal["bars", "months", "funnel", "gauge", "none"]
REPORT_KINDS: tuple[str, ...] = ("annual", "privacy")


@dataclass(frozen=True)
class SumGroup:
    """In every row, count column ``whole`` relates to count columns ``parts``.

    ``exact``: the whole is the sum of the parts (``Ontvangen`` = handled in
    time + late + open past + open within the deadline), so one hidden cell
    among them, the whole included, could be taken back by subtraction.
    Otherwise the whole is at least their sum (``Aangemeld`` ≥ ``Opgepakt`` +
    ``Niet opgepakt``: other outcomes are not shown), which still pins a
    hidden part when the remainder leaves it no room above 1.
    """

    whole: int
    parts: tuple[int, ...]
    exact: bool = True


@dataclass
class Table:
    """One table: label columns first, then count columns.

    ``measures`` maps a measure column (e.g. a median in days) to the count
    column it describes: a measure is suppressed with that count.
    ``observations`` gives, per measure column and row, how many observations
    the measure really rests on when that is not the count itself (the OvJ
    median uses only decisions whose request also falls in the period); a
    measure on fewer than the threshold is suppressed too.
    ``labels`` is the number of leading label columns; ``total_row`` says the
    last row is the sum of the others in every count column, ``total_column``
    that the last count column is the sum of the others, and ``sums`` declares
    any other whole and its parts among the columns, so that protection can
    hide further cells where a sum would give a hidden one away.
    """

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    labels: int = 1
    measures: dict[int, int] = field(default_factory=dict)
    observations: dict[int, list[int]] = field(default_factory=dict)
    sums: tuple[SumGroup, ...] = ()
    total_row: bool = False
    total_column: bool = False
    chart: ChartKind = "bars"
    note: str | None = None

    def count_columns(self) -> list[int]:
        return [i for i in range(self.labels, len(self.columns)) if i not in self.measures]

    def sum_groups(self) -> list[SumGroup]:
        """The declared column groups, with ``total_column`` as one of them."""
        groups = list(self.sums)
        counts = self.count_columns()
        if self.total_column and len(counts) > 1:
            groups.append(SumGroup(counts[-1], tuple(counts[:-1])))
        return groups


@dataclass(frozen=True)
class TableSum:
    """Across two tables of one report: row ``row`` of table ``whole`` is the sum of rows
    ``rows`` of table ``part``, in each pair of ``columns`` (column of whole, column of part).

    ``verstrekkingen_gevoeligheid``'s *Bijzonder* is the sum of the bijzonder rows of
    ``verstrekkingen_categorie``; two tables that count the same cases share their total
    (a one-row sum). Protection then works on the linked tables together, so that no
    hidden cell of one can be taken back from the other.
    """

    whole: str
    row: int
    part: str
    rows: tuple[int, ...]
    columns: tuple[tuple[int, int], ...]


def body_rows(table: Table, column: int, labels: Iterable[Cell]) -> tuple[int, ...]:
    """The rows above a total row whose ``column`` holds one of ``labels``."""
    wanted = set(labels)
    body = table.rows[:-1] if table.total_row else table.rows
    return tuple(i for i, row in enumerate(body) if row[column] in wanted)


def row_of(table: Table, label: Cell, column: int = 0) -> int:
    """The one row whose ``column`` holds ``label`` (a total row included)."""
    return next(i for i, row in enumerate(table.rows) if row[column] == label)


def same_total(whole: str, table: Table, column: int, part: str, other: Table, of: int) -> TableSum:
    """Two tables counting the same things: their total rows are equal in these columns."""
    return TableSum(whole, len(table.rows) - 1, part, (len(other.rows) - 1,), ((column, of),))


@dataclass
class Report:
    kind: str
    convenant: str
    date_from: date
    date_to: date
    suppressed_below: int
    tables: dict[str, Table]
    protected: bool = False
    links: tuple[TableSum, ...] = ()

    def as_json(self) -> dict[str, object]:
        """API §9 shape; ``title`` per table is an addition for people (Dutch)."""
        return {
            "kind": self.kind,
            "convenant": self.convenant,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "suppressed_below": self.suppressed_below,
            "tables": {
                name: {"title": table.title, "columns": table.columns, "rows": table.rows}
                for name, table in self.tables.items()
            },
        }
