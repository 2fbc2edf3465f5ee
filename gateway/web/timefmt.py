"""One way to show a moment on a page: Dutch time (Europe/Amsterdam), ``dd-mm-jjjj uu:mm``.

The API and the audit log keep UTC ISO 8601 with an offset; only the pages
convert, through these functions (also the ``tijd`` and ``datum`` Jinja filters),
so /privacy, /ovj and /mijn never show three formats again. A naive moment (as
SQLite hands back) is UTC by the gateway's convention.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TIME_FORMAT = "%d-%m-%Y %H:%M"
DATE_FORMAT = "%d-%m-%Y"
EMPTY = "—"


def _moment(value: datetime | str) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def nl_time(value: datetime | str | None) -> str:
    """``01-12-2026 14:05`` in Dutch time; ``—`` for no moment."""
    if value is None or value == "":
        return EMPTY
    moment = _moment(value)
    if moment is None:
        return str(value)
    return moment.astimezone(AMSTERDAM).strftime(TIME_FORMAT)


def nl_date(value: datetime | date | str | None) -> str:
    """``01-12-2026``: a moment's Dutch calendar day, or a plain date as it is."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime | str):
        moment = _moment(value)
        if moment is None:
            return str(value)
        return moment.astimezone(AMSTERDAM).strftime(DATE_FORMAT)
    return value.strftime(DATE_FORMAT)


def nl_clock(value: datetime | None) -> str:
    """``14:05`` in Dutch time (for "since" in the FG's signals)."""
    if value is None:
        return EMPTY
    moment = _moment(value)
    assert moment is not None
    return moment.astimezone(AMSTERDAM).strftime("%H:%M")
