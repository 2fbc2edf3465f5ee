"""The audit log as *Logboek Dataverwerkingen* records (field mapping in docs/reports.md).

One record per entry: the processing activity URI, the data subject's keyed
pseudonym (never a BSN; ``erased`` after crypto-shredding), the W3C trace and
span ids, and the status as the standard (and OpenTelemetry) defines it: a
disclosure or recorded step is ``OK``, a denial is ``UNSET`` (a refusal is a
correct outcome, not an error), a source failure is ``ERROR``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit.search import EntryQuery, search_entries
from gateway.audit.subject_keys import SubjectVault
from gateway.reports.period import Period

ERROR_OUTCOMES = frozenset({"unavailable", "error", "failed"})
UNSET_OUTCOMES = frozenset({"denied", "not_found", "pending_consent", "refused"})
SUBJECT_ID_TYPE = "ketenpoort:pseudonym"


def status_of(outcome: str) -> str:
    if outcome in ERROR_OUTCOMES:
        return "ERROR"
    if outcome in UNSET_OUTCOMES:
        return "UNSET"
    return "OK"


def record_of(entry: dict[str, Any]) -> dict[str, Any]:
    """One entry (as :func:`search_entries` shows it) in the Logboek Dataverwerkingen shape."""
    subject = entry.get("subject")
    attributes: dict[str, Any] = {
        "dpl.core.processing_activity_id": entry.get("processing_activity"),
        "dpl.core.data_subject_id": subject,
        "dpl.core.data_subject_id_type": SUBJECT_ID_TYPE if subject else None,
        "ketenpoort.seq": entry.get("seq"),
        "ketenpoort.kind": entry.get("kind"),
        "ketenpoort.outcome": entry.get("outcome"),
        "ketenpoort.reason": entry.get("reason"),
        "ketenpoort.party": entry.get("party"),
        "ketenpoort.source": entry.get("source"),
        "ketenpoort.category": entry.get("category"),
        "ketenpoort.case": entry.get("case"),
        "ketenpoort.covenant_version": entry.get("covenant_version"),
        "ketenpoort.leaf_hash": entry.get("leaf_hash"),
    }
    return {
        "trace_id": entry.get("trace_id"),
        "span_id": entry.get("span_id"),
        "name": f"ketenpoort.{entry.get('kind')}",
        "start_time": entry.get("time"),
        "end_time": entry.get("time"),
        "status_code": status_of(str(entry.get("outcome"))),
        "resource": {"service.name": "ketenpoort"},
        "attributes": {k: v for k, v in attributes.items() if v is not None},
    }


def logboek_records(
    session: Session,
    vault: SubjectVault,
    convenant: str,
    period: Period,
    progress: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """The covenant's entries in the period, newest first, as Logboek records."""
    cursor: str | None = None
    done = 0
    while True:
        query = EntryQuery(
            covenants=(convenant,),
            time_from=period.start,
            time_to=period.end,
            cursor=cursor,
            limit=500,
        )
        page = search_entries(session, vault, query)
        for entry in page.entries:
            yield record_of(entry)
        done += len(page.entries)
        if progress is not None:
            progress(done)
        if page.next is None:
            return
        cursor = page.next


def to_jsonl(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
