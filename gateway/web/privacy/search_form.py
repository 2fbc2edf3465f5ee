"""The /privacy search form: query parameters in, an :class:`EntryQuery` out.

The BSN is typed into a POST form and pseudonymised at once
(:func:`subject_for_bsn`); from then on links, pagination and the CSV carry
only the keyed pseudonym, so no BSN lands in a URL, a browser history or an
access log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from gateway.audit.events import KINDS
from gateway.audit.search import EntryQuery
from gateway.subjects.bsn import Bsn, is_valid_bsn
from gateway.web.glossary import OUTCOME

TEXT_FIELDS = ("party", "purpose", "case", "outcome", "kind")
FIELDS = ("subject", *TEXT_FIELDS, "from", "to")
MAX_TEXT = 100
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PAGE_SIZE = 50


@dataclass(frozen=True)
class SearchForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    query: EntryQuery | None = None

    @property
    def has_filters(self) -> bool:
        return any(self.values.values())

    def querystring(self, **extra: str) -> str:
        """The filters as a query string (for pagination and the CSV link)."""
        pairs = {k: v for k, v in self.values.items() if v}
        pairs.update({k: v for k, v in extra.items() if v})
        return urlencode(pairs)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def subject_for_bsn(text: str, pseudonym: Callable[[Bsn], str]) -> str | None:
    """The pseudonym to search for, or None if ``text`` is not a BSN."""
    digits = text.replace(" ", "").replace(".", "").strip()
    if not is_valid_bsn(digits):
        return None
    return pseudonym(Bsn(digits))


def parse_search(
    params: Mapping[str, str],
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> SearchForm:
    """Validate the form; ``query`` is None when a field is wrong (``errors`` says which)."""
    values = {name: str(params.get(name, "")).strip()[:MAX_TEXT] for name in FIELDS}
    errors: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if _CONTROL.search(values[name]):
            # PostgreSQL text cannot hold NUL: refuse here instead of failing in the database.
            errors[name] = "Gebruik geen stuurtekens in een zoekveld."
    subject = values["subject"] or None
    if subject is not None and not _PSEUDONYM.fullmatch(subject):
        errors["subject"] = "Het persoonsfilter is ongeldig; zoek opnieuw op BSN."
    if values["kind"] and values["kind"] not in KINDS:
        errors["kind"] = "Kies een soort uit de lijst."
    if values["outcome"] and values["outcome"] not in OUTCOME and "outcome" not in errors:
        errors["outcome"] = "Kies een uitkomst uit de lijst."
    time_from = time_to = None
    if values["from"]:
        day = _day(values["from"])
        if day is None:
            errors["from"] = "Vul een datum in als JJJJ-MM-DD."
        else:
            time_from = datetime.combine(day, time.min, tzinfo=UTC)
    if values["to"]:
        day = _day(values["to"])
        if day is None:
            errors["to"] = "Vul een datum in als JJJJ-MM-DD."
        elif day == date.max:
            time_to = None  # "up to and including" the last representable day: no bound
        else:
            time_to = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
    if time_from and time_to and time_to <= time_from:
        errors["to"] = "De einddatum ligt vóór de begindatum."
    if errors:
        return SearchForm(values=values, errors=errors)
    text = {name: values[name] or None for name in TEXT_FIELDS}
    query = EntryQuery(
        subject_pseudonym=subject,
        party=text["party"],
        purpose=text["purpose"],
        case=text["case"],
        outcome=text["outcome"],
        kind=text["kind"],
        time_from=time_from,
        time_to=time_to,
        cursor=cursor or None,
        limit=limit,
    )
    return SearchForm(values=values, query=query)


def single_entry_query(seq: int) -> EntryQuery:
    """The query whose first result is entry ``seq`` (newest first, strictly below the cursor)."""
    return replace(EntryQuery(), cursor=f"s{seq + 1}", limit=1)
