"""A privacy officer's read of the log: scoped to their covenants, and itself logged.

The routes (API and /privacy) call :func:`read_page`; it narrows the query to
the reader's covenants whatever the query said, and returns the page only after
the read has been committed to the log (fail closed: a read that cannot be
logged is not served).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gateway.audit.log import AuditLog
from gateway.audit.officer import Reader, read_events, refusal_events
from gateway.audit.search import EntryPage, EntryQuery, search_entries


def scoped(reader: Reader, query: EntryQuery) -> EntryQuery:
    """``query`` limited to the covenants ``reader`` oversees (none: nothing found)."""
    return replace(query, covenants=reader.covenants)


def read_page(
    log: AuditLog,
    reader: Reader,
    query: EntryQuery,
    action: str,
    *,
    filters: Iterable[str] = (),
) -> EntryPage:
    """One page of the reader's own covenants' entries; the read is logged first."""
    with log.db.session() as session:
        page = search_entries(session, log.vault, scoped(reader, query))
    log.append_sync(
        read_events(
            reader,
            action,
            returned=len(page.entries),
            filters=filters,
            subject_pseudonym=query.subject_pseudonym,
        )
    )
    return page


def log_refusal(log: AuditLog, reader: Reader, action: str, reason: str) -> None:
    """Record a refused attempt to read the log (not best effort: it raises when it cannot)."""
    log.append_sync(refusal_events(reader, action, reason))


async def log_refusal_async(log: AuditLog, reader: Reader, action: str, reason: str) -> None:
    """:func:`log_refusal` for the event loop (an async dependency must not block it)."""
    await log.append(refusal_events(reader, action, reason))


def query_filters(query: EntryQuery) -> list[str]:
    """The names of the filters a query uses (values stay out of the log)."""
    names = {
        "subject": query.subject_pseudonym,
        "party": query.party,
        "purpose": query.purpose,
        "case": query.case,
        "outcome": query.outcome,
        "kind": query.kind,
        "from": query.time_from,
        "to": query.time_to,
        "cursor": query.cursor,
    }
    return [name for name, value in names.items() if value is not None]
