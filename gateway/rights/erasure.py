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

A criminal-disclosure key (scope ``strafrechtelijk``) is kept for its covenant's
floor, the same rule as retention's (``gateway.policy.criminal_log``): the
covenant of its case, or the one stamped on the key once its case is gone; an
unknown or unloaded covenant keeps it. Before, erasure used a fixed four years
and a day and shredded early under a covenant with ``log_retention: P6Y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.audit.erasure import CriminalFloor, ErasureCounts, erase_subject
from gateway.cases.models import Case, CaseSubjectRef
from gateway.grounds.models import CaseGround
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.criminal_log import criminal_log_retention
from gateway.policy.durations import IsoDuration
from gateway.storage.db import Database


@dataclass(frozen=True)
class PersonErased:
    keys: ErasureCounts
    grounds_deleted: int


def _floor(session: Session, policy: CompiledPolicy) -> CriminalFloor:
    """The covenant's floor for a key: its case's covenant, else the one stamped on it."""

    def floor(case_id: str, stamped: str | None) -> IsoDuration | None:
        covenant = session.scalar(select(Case.convenant).where(Case.id == case_id)) or stamped
        return None if covenant is None else criminal_log_retention(policy, covenant)

    return floor


def _erase(
    session: Session,
    pseudonym: str,
    case: str | None,
    now: datetime | None,
    policy: CompiledPolicy,
) -> PersonErased:
    query = delete(CaseGround).where(CaseGround.subject_pseudonym == pseudonym)
    if case is not None:
        query = query.where(CaseGround.case_id == case)
    deleted = session.execute(query)
    refs = update(CaseSubjectRef).where(CaseSubjectRef.pseudonym == pseudonym)
    if case is not None:
        refs = refs.where(CaseSubjectRef.case_id == case)
    session.execute(refs.values(pseudonym=None))
    keys = erase_subject(session, pseudonym, case, now=now, criminal_floor=_floor(session, policy))
    return PersonErased(keys, int(getattr(deleted, "rowcount", 0) or 0))


def erase_person(
    session_or_db: Session | Database,
    pseudonym: str,
    case: str | None = None,
    *,
    policy: CompiledPolicy,
    now: datetime | None = None,
) -> PersonErased:
    """Erase the person (from one case, or everywhere with ``case=None``).

    ``policy`` gives each criminal key's floor (its covenant's ``log_retention``).
    Given a session, the caller commits (and then calls ``Database.flush_erased``);
    given the database, this commits and checkpoints the WAL (docs/security.md).
    """
    if isinstance(session_or_db, Database):
        with session_or_db.session() as session:
            erased = _erase(session, pseudonym, case, now, policy)
        session_or_db.flush_erased()
        return erased
    return _erase(session_or_db, pseudonym, case, now, policy)
