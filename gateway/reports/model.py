"""The shape of a report (API §9): named tables of labels and counts, before and after protection.

A :class:`Table` holds raw figures (ints) while it is computed; only
:func:`gateway.reports.protect.protect` turns it into what may leave the
gateway, where every small count is the string ``"< 5"``. Renderers (JSON,
CSV, HTML, the page) only ever receive a protected :class:`Report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Cell = str | int | float | None
ChartKind = Literal["bars", "months", "funnel", "gauge", "none"]
REPORT_KINDS: tuple[str, ...] = ("annual", "privacy")


@dataclass
class Table:
    """One table: label columns first, then count columns.

    ``measures`` maps a measure column (e.g. a median in days) to the count
    column whose number of observations it rests on: a measure over fewer
    observations than the threshold is suppressed like a small count.
    ``labels`` is the number of leading label columns; ``total_row`` /
    ``total_column`` say the last row / column is a sum of the others, so
    that protection can hide a second cell where a total would give the first
    one away.
    """

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    labels: int = 1
    measures: dict[int, int] = field(default_factory=dict)
    total_row: bool = False
    total_column: bool = False
    chart: ChartKind = "bars"
    note: str | None = None

    def count_columns(self) -> list[int]:
        return [i for i in range(self.labels, len(self.columns)) if i not in self.measures]


@dataclass
class Report:
    kind: str
    convenant: str
    date_from: date
    date_to: date
    suppressed_below: int
    tables: dict[str, Table]
    protected: bool = False

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
