"""Server-side SVG charts, hand-built: no JavaScript, no CDN, no plotting dependency.

Each chart is a small inline ``<svg role="img">`` with a ``<title>``; the
page always puts the table it was drawn from beside it, which is what screen
readers read (the SVG is ``aria-hidden`` apart from its title). A suppressed
count (``"< 5"``) is drawn as an outlined stub labelled ``< 5``, never as a
bar of a guessed length. Building by hand keeps a chart under a millisecond
(docs/reports.md has the measurement) and the output deterministic.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from gateway.reports.model import Cell, Table

WIDTH = 640
BAR = 22
GAP = 6
LABEL_W = 230
COLOURS = ("#01689b", "#e17000", "#39870c", "#a90061")


def _number(value: Cell) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _body(table: Table) -> list[list[Cell]]:
    return table.rows[:-1] if table.total_row else table.rows


def _svg(title: str, height: int, inner: str) -> Markup:
    # Every text in ``inner`` went through escape(); numbers are formatted by us.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{inner}</svg>"
    )


def bars(table: Table) -> Markup:
    """Horizontal bars: one per row, the first count column."""
    column = table.labels
    rows = _body(table)
    peak = max((_number(row[column]) or 0 for row in rows), default=0) or 1
    parts: list[str] = []
    for i, row in enumerate(rows):
        y = i * (BAR + GAP) + GAP
        label = " ".join(str(cell) for cell in row[: table.labels] if cell)
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end" '
            f'font-size="13">{escape(label[:34])}</text>'
        )
        value = _number(row[column])
        if value is None:
            parts.append(
                f'<rect x="{LABEL_W}" y="{y}" width="24" height="{BAR}" fill="none" '
                f'stroke="#555" stroke-dasharray="3 2"/>'
                f'<text x="{LABEL_W + 30}" y="{y + BAR * 0.7:.1f}" font-size="13">'
                f"{escape(str(row[column] or '–'))}</text>"
            )
            continue
        length = (WIDTH - LABEL_W - 60) * value / peak
        parts.append(
            f'<rect x="{LABEL_W}" y="{y}" width="{length:.1f}" height="{BAR}" '
            f'fill="{COLOURS[0]}"/>'
            f'<text x="{LABEL_W + length + 6:.1f}" y="{y + BAR * 0.7:.1f}" font-size="13">'
            f"{int(value)}</text>"
        )
    return _svg(table.title, max(len(rows), 1) * (BAR + GAP) + GAP, "".join(parts))


def months(table: Table) -> Markup:
    """Vertical grouped bars per month, one colour per count column, with a legend."""
    rows = _body(table)
    series = table.count_columns()
    height, base, top = 260, 220, 30
    slot = (WIDTH - 40) / max(len(rows), 1)
    width = max(slot / (len(series) + 1), 2)
    peak = max((_number(row[c]) or 0 for row in rows for c in series), default=0) or 1
    parts: list[str] = [f'<line x1="30" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#555"/>']
    for s, column in enumerate(series):
        parts.append(
            f'<rect x="{40 + s * 150}" y="4" width="12" height="12" fill="{COLOURS[s % 4]}"/>'
            f'<text x="{56 + s * 150}" y="15" font-size="12">'
            f"{escape(table.columns[column])}</text>"
        )
    for i, row in enumerate(rows):
        x0 = 34 + i * slot
        parts.append(
            f'<text x="{x0 + slot / 2:.1f}" y="{base + 16}" text-anchor="middle" font-size="11">'
            f"{escape(str(row[0])[-2:])}</text>"
        )
        for s, column in enumerate(series):
            x = x0 + (s + 0.5) * width
            value = _number(row[column])
            if value is None:
                parts.append(
                    f'<rect x="{x:.1f}" y="{base - 8}" width="{width:.1f}" height="8" '
                    f'fill="none" stroke="{COLOURS[s % 4]}" stroke-dasharray="2 2"/>'
                )
                continue
            h = (base - top) * value / peak
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[s % 4]}"/>'
            )
    return _svg(table.title, height, "".join(parts))


def funnel(table: Table) -> Markup:
    """The phase funnel: centred bars, widest first."""
    rows = _body(table)
    peak = max((_number(row[1]) or 0 for row in rows), default=0) or 1
    parts: list[str] = []
    centre = LABEL_W + (WIDTH - LABEL_W) / 2
    for i, row in enumerate(rows):
        y = i * (BAR + GAP) + GAP
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end" '
            f'font-size="13">{escape(str(row[0]))}</text>'
        )
        value = _number(row[1])
        length = (WIDTH - LABEL_W - 20) * (value or 0) / peak
        shown = str(int(value)) if value is not None else str(row[1])
        parts.append(
            f'<rect x="{centre - length / 2:.1f}" y="{y}" width="{max(length, 1):.1f}" '
            f'height="{BAR}" fill="{COLOURS[2]}"/>'
            f'<text x="{centre:.1f}" y="{y + BAR * 0.7:.1f}" text-anchor="middle" '
            f'font-size="13" fill="#000" stroke="#fff" stroke-width="3" paint-order="stroke">'
            f"{escape(shown)}</text>"
        )
    return _svg(table.title, max(len(rows), 1) * (BAR + GAP) + GAP, "".join(parts))


def gauge(table: Table) -> Markup:
    """One half-circle per row: share handled within the deadline (columns 1 = met, 3 = late)."""
    rows = _body(table)
    size = WIDTH / max(len(rows), 1)
    radius = min(size / 2 - 10, 60)
    parts: list[str] = []
    for i, row in enumerate(rows):
        cx, cy = i * size + size / 2, radius + 20
        met, late = _number(row[2]), _number(row[4])
        parts.append(
            f'<path d="M {cx - radius:.1f} {cy:.1f} A {radius:.1f} {radius:.1f} 0 0 1 '
            f'{cx + radius:.1f} {cy:.1f}" fill="none" stroke="#ddd" stroke-width="14"/>'
        )
        if met is None or late is None or met + late == 0:
            text = "< 5" if met is None or late is None else "–"
        else:
            share = met / (met + late)
            angle = math.pi * (1 - share)
            x, y = cx + radius * math.cos(angle), cy - radius * math.sin(angle)
            parts.append(
                f'<path d="M {cx - radius:.1f} {cy:.1f} A {radius:.1f} {radius:.1f} 0 0 1 '
                f'{x:.1f} {y:.1f}" fill="none" stroke="{COLOURS[2]}" stroke-width="14"/>'
            )
            text = f"{round(100 * share)}%"
        parts.append(
            f'<text x="{cx:.1f}" y="{cy - 4:.1f}" text-anchor="middle" font-size="15">'
            f"{escape(text)}</text>"
            f'<text x="{cx:.1f}" y="{cy + 18:.1f}" text-anchor="middle" font-size="12">'
            f"{escape(str(row[0]))}</text>"
        )
    return _svg(table.title, int(radius + 50), "".join(parts))


def chart(table: Table) -> Markup | None:
    """The chart for ``table`` (by its ``chart`` kind), or None for a table shown on its own."""
    drawers = {"bars": bars, "months": months, "funnel": funnel, "gauge": gauge}
    drawer = drawers.get(table.chart)
    return drawer(table) if drawer is not None and table.rows else None
