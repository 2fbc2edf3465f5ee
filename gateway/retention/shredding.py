"""Crypto-shredding for retention, with the Wjsg art. 39j floor for criminal-data logs.

The same operation as :func:`gateway.audit.erasure.erase_subject` (destroy the
wrapped key, cut its link to the pseudonym, drop its search-index rows), but
the floor for scope ``strafrechtelijk`` keys comes from the covenant: the
longest ``log_retention`` of its ``strafrechtelijk`` categories, and never less
than four years (plus a leap day, as the audit module counts). Such a key
outlives its case, stamped with the case's covenant; the ``criminal_log`` rule
shreds it once that covenant's floor has passed, and never while the covenant
is not loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.audit.erasure import shred_judged
from gateway.audit.models import AuditDataKey, AuditSubjectIndex
from gateway.policy.durations import IsoDuration


@dataclass(frozen=True)
class ShredCounts:
    keys: int = 0
    index_rows: int = 0
    criminal_kept: int = 0


def shred_keys(
    session: Session,
    key_ids: Sequence[str],
    now: datetime,
    used: Mapping[str, datetime] | None = None,
) -> ShredCounts:
    """Destroy these keys and their search-index rows; the log's ciphertext stays.

    ``used``: the last use each key's term was judged on, read without a lock. Such
    a key is shredded only if that is still its last use (:func:`shred_judged`).
    """
    if not key_ids:
        return ShredCounts()
    ids = sorted(set(key_ids))
    judged = used or {}
    # The keys' pseudonyms, read before the update below cuts them: the index rows
    # are deleted by (pseudonym, key), the index's primary-key prefix, since
    # audit_subject_index has no index on key_id (migration 0012_auditappend). Every
    # row of a key names the key's own pseudonym (what `audit verify` checks); an
    # erased key's rows went when it was erased.
    pseudonyms = {
        pseudonym
        for pseudonym in session.scalars(
            select(AuditDataKey.subject_pseudonym).where(AuditDataKey.key_id.in_(ids))
        )
        if pseudonym is not None
    }
    plain = [key_id for key_id in ids if key_id not in judged]
    if plain:
        session.execute(
            update(AuditDataKey)
            .where(AuditDataKey.key_id.in_(plain), AuditDataKey.wrapped.is_not(None))
            .values(wrapped=None, subject_pseudonym=None, erased_at=now)
        )
    weighed = {key_id: judged[key_id] for key_id in ids if key_id in judged}
    shredded = shred_judged(session, weighed, now)
    used_since = len(weighed) - len(shredded)
    ids = sorted(plain + shredded)
    if not pseudonyms or not ids:
        return ShredCounts(len(ids), 0, used_since)
    result = session.execute(
        delete(AuditSubjectIndex).where(
            AuditSubjectIndex.pseudonym.in_(sorted(pseudonyms)),
            AuditSubjectIndex.key_id.in_(ids),
        )
    )
    return ShredCounts(len(ids), int(getattr(result, "rowcount", 0) or 0), used_since)


def shred_case(
    session: Session,
    case_id: str,
    now: datetime,
    criminal: IsoDuration,
    covenant: str,
) -> ShredCounts:
    """Shred the case's keys; a ``strafrechtelijk`` key used within ``criminal`` is kept.

    Every key of the case, whoever it names: also those of a household member
    erased from the case earlier (``erase_person`` clears her subject ref, so she
    is no longer among the case's people, but her criminal key can have been kept
    for the Wjsg floor). A kept key is stamped with the case's ``covenant``: once
    the case is gone, that is where the ``criminal_log`` rule finds its floor (and
    keeps the key while the covenant is not loaded). Before, keys were taken per
    person of the case, so an erased member's kept criminal key was never stamped
    and ``criminal_log`` never shredded it (review-c F2).
    """
    rows = session.execute(
        select(AuditDataKey.key_id, AuditDataKey.scope, AuditDataKey.last_used_at).where(
            AuditDataKey.case_id == case_id,
            AuditDataKey.scope != "subject",
            AuditDataKey.wrapped.is_not(None),
        )
    ).all()
    erase: list[str] = []
    judged: dict[str, datetime] = {}
    kept = 0
    for key_id, scope, last_used in rows:
        if scope == "strafrechtelijk" and criminal.add_to(last_used) > now:
            kept += 1
            continue
        erase.append(key_id)
        if scope == "strafrechtelijk":
            judged[key_id] = last_used
    counts = shred_keys(session, erase, now, judged)
    session.execute(
        update(AuditDataKey)
        .where(
            AuditDataKey.case_id == case_id,
            AuditDataKey.scope == "strafrechtelijk",
            AuditDataKey.wrapped.is_not(None),
        )
        .values(convenant=covenant)
    )
    return ShredCounts(counts.keys, counts.index_rows, kept + counts.criminal_kept)


def shred_subject_key(session: Session, pseudonym: str, now: datetime) -> ShredCounts:
    """The person's own key (scope ``subject``: sealed BSN, rights-request texts)."""
    key_ids = list(
        session.scalars(
            select(AuditDataKey.key_id).where(
                AuditDataKey.subject_pseudonym == pseudonym,
                AuditDataKey.scope == "subject",
                AuditDataKey.wrapped.is_not(None),
            )
        )
    )
    return shred_keys(session, key_ids, now)
