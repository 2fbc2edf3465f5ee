"""A report period: whole months ``[from, to]`` in UTC, bounded before it reaches the database.

Whole months, because the figures of two periods that differ by one day tell
what happened on that day: a reader who asks for 1 March to 15 March and then
to 16 March learns whether a case was referred, or a disclosure made, on the
16th, below the small-count protection of either report (one person, singled
out by a date). Months are the grain the stuurgroep and the FG report in, so
any ``from`` is taken back to the first of its month and any ``to`` forward to
the last of its month; the report names the period it covers.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
MAX_DAYS = 3 * 366 + 1


class BadPeriod(ValueError):
    """A period a report cannot cover (reversed, too long, out of range)."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @classmethod
    def of(cls, first: date, last: date) -> Period:
        if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
            raise BadPeriod(f"dates must lie between {EARLIEST} and {LATEST}")
        if last < first:
            raise BadPeriod("'to' lies before 'from'")
        if (last - first).days + 1 > MAX_DAYS:
            raise BadPeriod("a report covers at most three years")
        return cls(first.replace(day=1), last.replace(day=monthrange(last.year, last.month)[1]))

    @classmethod
    def year(cls, year: int) -> Period:
        if not EARLIEST.year <= year <= LATEST.year:
            raise BadPeriod(f"year must lie between {EARLIEST.year} and {LATEST.year}")
        return cls.of(date(year, 1, 1), date(year, 12, 31))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``last``."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def months(self) -> list[str]:
        """``YYYY-MM`` for every month the period touches."""
        out: list[str] = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
