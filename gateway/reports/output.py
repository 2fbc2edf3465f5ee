"""A protected report as CSV, JSON, or one self-contained HTML file (inline CSS and SVG).

Only a protected :class:`Report` is accepted: renderers cannot show a raw
count by mistake. The HTML tables section is the same markup the
``/rapportage`` page embeds, so page, file and CSV show the same figures.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gateway.reports.charts import chart
from gateway.reports.model import Cell, Report, Table
from gateway.reports.register import Register

TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
KIND_TITLES = {"annual": "Jaaroverzicht", "privacy": "Privacyverantwoording"}
CSV_HEADER = ("table", "row", "column", "value")


class Unprotected(ValueError):
    """A raw report was handed to a renderer."""


def _checked(report: Report) -> Report:
    if not report.protected:
        raise Unprotected("only a protected report may be rendered")
    return report


def row_label(row: Sequence[object], labels: int) -> str:
    return " / ".join(str(cell) for cell in row[:labels] if cell not in (None, ""))


def to_csv(report: Report) -> str:
    """Long form, one figure per line: ``table,row,column,value``."""
    _checked(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, table in report.tables.items():
        for row in table.rows:
            label = row_label(row, table.labels)
            for index in range(table.labels, len(table.columns)):
                value = row[index]
                writer.writerow((name, label, table.columns[index], "" if value is None else value))
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(_checked(report).as_json(), ensure_ascii=False, indent=2)


CellLabel = Callable[[str, object], str]
"""How a page shows a label cell (table name, code) — e.g. a case type's Dutch name."""


def _as_is(_table: str, cell: object) -> str:
    return "" if cell is None else str(cell)


def _labelled(name: str, table: Table, cell_label: CellLabel) -> Table:
    """The table with its label cells as ``cell_label`` shows them (for the chart's text)."""
    rows: list[list[Cell]] = [
        [cell_label(name, cell) if i < table.labels else cell for i, cell in enumerate(row)]
        for row in table.rows
    ]
    return dataclasses.replace(table, rows=rows)


def tables_html(report: Report, cell_label: CellLabel = _as_is) -> Markup:
    """The figures as sections: a chart and, beside it, the table it was drawn from.

    ``cell_label`` names a label cell for people (the web page passes its
    glossary); ``data-row`` keeps the code, so the page and the CSV stay comparable.
    """
    _checked(report)
    sections = [
        {"name": name, "table": table, "chart": chart(_labelled(name, table, cell_label))}
        for name, table in report.tables.items()
    ]
    # Autoescaped template output: every value in it was escaped by jinja.
    return Markup(  # noqa: S704
        _ENV.get_template("tables.html").render(
            report=report, sections=sections, row_label=row_label, cell_label=cell_label
        )
    )


def to_html(report: Report, title: str) -> str:
    return _ENV.get_template("report_file.html").render(
        report=report,
        title=title,
        kind_title=KIND_TITLES.get(report.kind, report.kind),
        tables=tables_html(report),
    )


def register_html(register: Register) -> str:
    return _ENV.get_template("register.html").render(register=register)
