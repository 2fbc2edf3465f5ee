"""Marking contested records in a query's answer (AVG art. 18(1)(a), API.md §3).

Runs after copies are served, so a record carries ``"contested": true``
whether it came live from the source or from the gateway's copy. The
register is asked only when the answer holds records at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.orm import Session

from gateway.brokering.results import SourceResult
from gateway.rights.contested import Contested
from gateway.storage.db import Database


def mark(results: list[SourceResult], contested: Contested) -> list[SourceResult]:
    """Each record a pending correctie contests gets ``contested=True``; nothing else changes."""
    if not contested:
        return results
    marked = []
    for result in results:
        records = result.records
        if records and any(contested.covers(result.source, r.id) for r in records):
            flagged = [
                replace(r, contested=True) if contested.covers(result.source, r.id) else r
                for r in records
            ]
            marked.append(replace(result, records=flagged))
        else:
            marked.append(result)
    return marked


class ContestedMarker:
    """The broker's view of pending correcties: one look-up per answer with records."""

    def __init__(self, db: Database, lookup: Callable[[Session, str], Contested]) -> None:
        self._db = db
        self._lookup = lookup

    def mark(self, subject_pseudonym: str, results: list[SourceResult]) -> list[SourceResult]:
        if not any(result.records for result in results):
            return results
        with self._db.session() as session:
            return self.mark_in(session, subject_pseudonym, results)

    def mark_in(
        self, session: Session, subject_pseudonym: str, results: list[SourceResult]
    ) -> list[SourceResult]:
        """:meth:`mark` inside the caller's transaction (the broker's one post-answer hop)."""
        if not any(result.records for result in results):
            return results
        return mark(results, self._lookup(session, subject_pseudonym))
