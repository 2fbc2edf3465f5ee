"""Erasing one person (AVG art. 17): their recorded legal grounds, their case refs, their keys.

:func:`gateway.audit.erasure.erase_subject` shreds the person's data keys, so
their log entries and sealed BSN can no longer be read. The ground register
(``case_grounds``) keeps its rows in clear — the document reference ("toestemmings-
formulier getekend, dossier …"), who recorded it, the categories — tied to the
person's pseudonym; left behind, it would outlive the erasure. The person's
subject refs in households (``s2`` …) keep their row with the pseudonym cleared
(the ref stays taken, ``erased`` in the case), so nothing new — a ground, a
query — can be tied to them again. This is the one place that erases a person,
so all of it goes in one transaction; the audit layer cannot know the ground
register or the cases (they sit above it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from gateway.audit.erasure import ErasureCounts, erase_subject
from gateway.cases.models import CaseSubjectRef
from gateway.grounds.models import CaseGround
from gateway.storage.db import Database


@dataclass(frozen=True)
class PersonErased:
    keys: ErasureCounts
    grounds_deleted: int


def _erase(
    session: Session, pseudonym: str, case: str | None, now: datetime | None
) -> PersonErased:
    query = delete(CaseGround).where(CaseGround.subject_pseudonym == pseudonym)
    if case is not None:
        query = query.where(CaseGround.case_id == case)
    deleted = session.execute(query)
    refs = update(CaseSubjectRef).where(CaseSubjectRef.pseudonym == pseudonym)
    if case is not None:
        refs = refs.where(CaseSubjectRef.case_id == case)
    session.execute(refs.values(pseudonym=None))
    keys = erase_subject(session, pseudonym, case, now=now)
    return PersonErased(keys, int(getattr(deleted, "rowcount", 0) or 0))


def erase_person(
    session_or_db: Session | Database,
    pseudonym: str,
    case: str | None = None,
    *,
    now: datetime | None = None,
) -> PersonErased:
    """Erase the person (from one case, or everywhere with ``case=None``).

    Given a session, the caller commits; given the database, this commits.
    """
    if isinstance(session_or_db, Database):
        with session_or_db.session() as session:
            return _erase(session, pseudonym, case, now)
    return _erase(session_or_db, pseudonym, case, now)
