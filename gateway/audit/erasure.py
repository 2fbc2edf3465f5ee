"""Crypto-shredding a person out of the log (promise 7) without breaking it.

Erasing destroys the wrapped data key and cuts the key's link to the pseudonym,
then drops the pseudonym's search-index rows. Entries keep their ciphertext,
so every leaf, root and signature still verifies; they now read as erased.

Log records of criminal-data disclosures (scope ``strafrechtelijk``) must be
kept at least four years (Wjsg art. 39j), even when the case goes earlier:
their keys are only shredded once their last use is that old. A covenant can
ask longer (its categories' ``log_retention``): the caller that knows the
covenants passes ``criminal_floor`` (``gateway.rights.erasure`` does, with the
retention rule's own floor); without it, four years and a day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey, AuditSubjectIndex
from gateway.policy.criminal_log import WJSG_MINIMUM
from gateway.policy.durations import IsoDuration
from gateway.storage.db import Database

STRAFRECHTELIJK_RETENTION = timedelta(days=4 * 365 + 1)
"""Four years counted generously (one leap day): the Wjsg minimum, never less."""

CriminalFloor = Callable[[str, str | None], IsoDuration | None]
"""A ``strafrechtelijk`` key's floor from its case id and its stamped covenant; None: keep."""


def wjsg_minimum(_case: str, _covenant: str | None) -> IsoDuration:
    return WJSG_MINIMUM


@dataclass(frozen=True)
class ErasureCounts:
    keys_erased: int
    index_rows_deleted: int
    strafrechtelijk_kept: int


def shred_judged(session: Session, judged: Mapping[str, datetime], now: datetime) -> list[str]:
    """Shred each key whose last use is still the one its term was judged on; the ids shredded.

    The term (a criminal key's Wjsg floor, a person's own key's retention) counts from
    ``last_used_at``, read by the caller without a lock: an append that used the key
    since (a disclosure logged now) restarts it, and shredding the key on the old date
    would make that entry unreadable within the term. Erasure and retention both judge.
    """
    shredded: list[str] = []
    for key_id, last_used in sorted(judged.items()):
        gone = session.scalar(
            update(AuditDataKey)
            .where(
                AuditDataKey.key_id == key_id,
                AuditDataKey.last_used_at == last_used,
                AuditDataKey.wrapped.is_not(None),
            )
            .values(wrapped=None, subject_pseudonym=None, erased_at=now)
            .returning(AuditDataKey.key_id)
        )
        if gone is not None:
            shredded.append(gone)
    return shredded


def _erase(
    session: Session, pseudonym: str, case: str | None, now: datetime, floor: CriminalFloor
) -> ErasureCounts:
    query = select(AuditDataKey).where(
        AuditDataKey.subject_pseudonym == pseudonym, AuditDataKey.wrapped.is_not(None)
    )
    if case is not None:
        query = query.where(AuditDataKey.case_id == case, AuditDataKey.scope != "subject")
    erase_ids: list[str] = []
    criminal: dict[str, datetime] = {}  # judged on their last use: shred_judged
    kept = 0
    for key in session.scalars(query):
        if key.scope == "strafrechtelijk":
            kept_for = floor(key.case_id, key.convenant)
            if kept_for is None or kept_for.add_to(key.last_used_at) > now:
                kept += 1
                continue
            criminal[key.key_id] = key.last_used_at
        else:
            erase_ids.append(key.key_id)
    if erase_ids:
        session.execute(
            update(AuditDataKey)
            .where(AuditDataKey.key_id.in_(erase_ids))
            .values(wrapped=None, subject_pseudonym=None, erased_at=now)
        )
    shredded = shred_judged(session, criminal, now)
    kept += len(criminal) - len(shredded)
    erase_ids += shredded
    if not erase_ids:
        return ErasureCounts(0, 0, kept)
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
    criminal_floor: CriminalFloor = wjsg_minimum,
) -> ErasureCounts:
    """Shred the person's keys (one case's, or all with ``case=None``); returns counts.

    A ``strafrechtelijk`` key is kept while ``criminal_floor`` (of its case and
    stamped covenant) has not passed since its last use, or when it returns None.
    Given a session, the caller commits (and then calls ``Database.flush_erased``);
    given the database, this commits and checkpoints the WAL (docs/security.md).
    """
    moment = now or datetime.now(UTC)
    if isinstance(session_or_db, Database):
        with session_or_db.session() as session:
            counts = _erase(session, pseudonym, case, moment, criminal_floor)
        session_or_db.flush_erased()
        return counts
    return _erase(session_or_db, pseudonym, case, moment, criminal_floor)
