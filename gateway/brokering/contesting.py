"""Marking or withholding contested records in a query's answer (AVG art. 18(1)(a), API.md §3).

Runs after copies are served, so a record carries ``"contested": true``
whether it came live from the source or from the gateway's copy. The
register is asked only when the answer holds records at all.

A covenant may instead restrict processing outright (``rights.contested:
withhold``): a contested record then does not leave at all until the
correctie is decided. The result says how many were left out
(``contested_withheld``); when nothing is left the result is ``denied`` with
reason ``contested`` — never ``not_found``, which would tell the recipient
something false about the person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.orm import Session

from gateway.brokering.results import SourceResult
from gateway.rights.contested import Contested
from gateway.storage.db import Database

CONTESTED = "contested"
"""Denial reason of a result whose every record is withheld while contested."""


def withhold(results: list[SourceResult], contested: Contested) -> list[SourceResult]:
    """Contested records are left out; a result left empty becomes ``denied``/``contested``.

    Contested here or where the record came from: a record that arrives marked
    (a correctie pending at a peer region, kept with the copy too) is held back
    like one our own correctie contests.
    """
    kept = []
    for result in results:
        records = result.records
        if not records:
            kept.append(result)
            continue
        remaining = [
            r for r in records if not r.contested and not contested.covers(result.source, r.id)
        ]
        left_out = len(records) - len(remaining)
        if not left_out:
            kept.append(result)
        elif remaining:
            kept.append(replace(result, records=remaining, contested_withheld=left_out))
        else:
            kept.append(
                replace(
                    result,
                    status="denied",
                    reason=CONTESTED,
                    records=None,
                    trimmed_fields=None,
                    contested_withheld=left_out,
                )
            )
    return kept


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
        self,
        session: Session,
        subject_pseudonym: str,
        results: list[SourceResult],
        *,
        withholding: bool = False,
    ) -> list[SourceResult]:
        """:meth:`mark` (or, when the covenant says so, :func:`withhold`) inside the
        caller's transaction (the broker's one post-answer hop)."""
        if not any(result.records for result in results):
            return results
        contested = self._lookup(session, subject_pseudonym)
        return withhold(results, contested) if withholding else mark(results, contested)
