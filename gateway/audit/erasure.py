"""Crypto-shredding a person out of the log (promise 7) without breaking it.

Erasing destroys the wrapped data key and cuts the key's link to the pseudonym,
then drops the pseudonym's search-index rows. Entries keep their ciphertext,
so every leaf, root and signature still verifies; they now read as erased.

Log records of criminal-data disclosures (scope ``strafrechtelijk``) must be
kept at least four years (Wjsg art. 39j), even when the case goes earlier:
their keys are only shredded once their last use is that old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey, AuditSubjectIndex
from gateway.storage.db import Database

STRAFRECHTELIJK_RETENTION = timedelta(days=4 * 365 + 1)
"""Four years counted generously (one leap day): the Wjsg minimum, never less."""


@dataclass(frozen=True)
class ErasureCounts:
    keys_erased: int
    index_rows_deleted: int
    strafrechtelijk_kept: int


def _erase(session: Session, pseudonym: str, case: str | None, now: datetime) -> ErasureCounts:
    query = select(AuditDataKey).where(
        AuditDataKey.subject_pseudonym == pseudonym, AuditDataKey.wrapped.is_not(None)
    )
    if case is not None:
        query = query.where(AuditDataKey.case_id == case, AuditDataKey.scope != "subject")
    erase_ids: list[str] = []
    kept = 0
    for key in session.scalars(query):
        young = key.last_used_at > now - STRAFRECHTELIJK_RETENTION
        if key.scope == "strafrechtelijk" and young:
            kept += 1
            continue
        erase_ids.append(key.key_id)
    if not erase_ids:
        return ErasureCounts(0, 0, kept)
    session.execute(
        update(AuditDataKey)
        .where(AuditDataKey.key_id.in_(erase_ids))
        .values(wrapped=None, subject_pseudonym=None, erased_at=now)
    )
    # By the pseudonym (the index's primary-key prefix) and the keys: every row of
    # a key names the key's own pseudonym (what `audit verify` checks).
    deleted = session.execute(
        delete(AuditSubjectIndex).where(
            AuditSubjectIndex.pseudonym == pseudonym, AuditSubjectIndex.key_id.in_(erase_ids)
        )
    )
    return ErasureCounts(len(erase_ids), int(getattr(deleted, "rowcount", 0) or 0), kept)


def erase_subject(
    session_or_db: Session | Database,
    pseudonym: str,
    case: str | None = None,
    *,
    now: datetime | None = None,
) -> ErasureCounts:
    """Shred the person's keys (one case's, or all with ``case=None``); returns counts.

    Given a session, the caller commits; given the database, this commits.
    """
    moment = now or datetime.now(UTC)
    if isinstance(session_or_db, Database):
        with session_or_db.session() as session:
            return _erase(session, pseudonym, case, moment)
    return _erase(session_or_db, pseudonym, case, moment)
