"""ISO 8601 durations (``P2Y``, ``P1M``, ``P14D``, ``PT12H``) as covenants write them.

Retention and rights deadlines are calendar periods: ``P1M`` from 31 January
is the end of February, not 30 days later, so a duration keeps its parts and is
applied with calendar arithmetic instead of being flattened to a timedelta.

A covenant's duration is at most ``MAX_YEARS`` in its calendar part (years and
months) and as much again in its exact part (weeks to seconds): anything longer
is no legal term but a typo, and ``P9000Y`` added to a date leaves the range of
``datetime`` (``ValueError``/``OverflowError`` in every comparison and deadline,
which once killed the policy reloader).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import MAXYEAR, date, datetime, timedelta
from typing import TypeVar

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)

# The same grammar for the JSON Schema (ECMA 262 regex, no named groups).
DURATION_PATTERN = r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"

_Moment = TypeVar("_Moment", date, datetime)

MAX_YEARS = 1000
_MAX_MONTHS = 12 * MAX_YEARS
_MAX_SECONDS = MAX_YEARS * 366 * 86_400


def _last(moment: _Moment) -> _Moment:
    """The calendar's last moment, of the same type (and time zone) as ``moment``."""
    if isinstance(moment, datetime):
        return datetime.max.replace(tzinfo=moment.tzinfo)
    return date.max


class DurationError(ValueError):
    """The text is not an ISO 8601 duration of whole units."""


@dataclass(frozen=True, slots=True)
class IsoDuration:
    """A duration with its calendar parts kept apart (years and months vary in length)."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def __str__(self) -> str:
        date_part = "".join(
            f"{value}{unit}"
            for value, unit in (
                (self.years, "Y"),
                (self.months, "M"),
                (self.weeks, "W"),
                (self.days, "D"),
            )
            if value
        )
        time_part = "".join(
            f"{value}{unit}"
            for value, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
            if value
        )
        if not date_part and not time_part:
            return "P0D"
        return "P" + date_part + ("T" + time_part if time_part else "")

    def add_to(self, moment: _Moment) -> _Moment:
        """Return ``moment`` plus this duration; a month end stays clamped to the month end.

        For a plain ``date`` the time parts count only as far as whole days. An end
        past the calendar's last moment (year 9999) is that last moment: a run that
        judges by it must never fail on a long period (``P2500Y`` once raised
        OverflowError and stopped every retention rule), and "not before 9999" is
        what such a period means.
        """
        total_months = moment.month - 1 + self.months + 12 * self.years
        year = moment.year + total_months // 12
        if year > MAXYEAR:
            return _last(moment)
        month = total_months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        shifted = moment.replace(year=year, month=month, day=day)
        try:
            delta = timedelta(
                weeks=self.weeks,
                days=self.days,
                hours=self.hours,
                minutes=self.minutes,
                seconds=self.seconds,
            )
            if isinstance(shifted, datetime):
                return shifted + delta
            return shifted + timedelta(days=delta.days)
        except OverflowError:
            return _last(moment)

    def at_least(self, other: IsoDuration) -> bool:
        """Whether this duration never ends before ``other``, whatever the start date.

        Checked against starts across a leap cycle, which is where calendar
        lengths differ; good enough for comparing legal minimums.
        """
        starts = [datetime(2000, month, day) for month in (1, 2, 3, 12) for day in (1, 28, 29)]
        starts += [datetime(2001, 2, 28), datetime(2003, 3, 1)]
        return all(self.add_to(start) >= other.add_to(start) for start in starts)


def parse_duration(text: str) -> IsoDuration:
    """Parse ``PnYnMnWnDTnHnMnS`` (whole numbers only)."""
    match = _DURATION.match(text)
    if match is None:
        raise DurationError(f"{text!r} is not an ISO 8601 duration such as P2Y, P1M or P30D")
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    duration = IsoDuration(**parts)
    months = 12 * duration.years + duration.months
    seconds = (
        ((7 * duration.weeks + duration.days) * 24 + duration.hours) * 60 + duration.minutes
    ) * 60 + duration.seconds
    if months > _MAX_MONTHS or seconds > _MAX_SECONDS:
        raise DurationError(f"{text!r} is longer than any term a covenant may set (P{MAX_YEARS}Y)")
    return duration
