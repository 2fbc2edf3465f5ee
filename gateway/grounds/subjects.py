"""Which person a subject ref of a case names (``s1`` …; API.md §2a).

One function, so household cases (several subjects per case) change only
this look-up: until then a case has one subject, its ``hoofdpersoon`` ``s1``.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from gateway.cases.service import CaseRecord

MAIN_SUBJECT: Final = "s1"


def subject_pseudonym(session: Session, case: CaseRecord, ref: str) -> str | None:
    """The subject's pseudonym, or None if the case has no subject with that ref."""
    del session  # household cases look the ref up in the case's subjects
    return case.subject_pseudonym if ref == MAIN_SUBJECT else None


def subject_ref_of(session: Session, case: CaseRecord, pseudonym: str) -> str | None:
    """The ref under which ``pseudonym`` is a subject of the case, if it is one."""
    del session
    return MAIN_SUBJECT if pseudonym == case.subject_pseudonym else None
