"""Which person a subject ref of a case names (``s1`` …; API.md §2a).

One function, so the grounds follow the case's own subjects: ``s1`` is the
hoofdpersoon, a household case names more (``CaseRecord.about``).
"""

from __future__ import annotations

from typing import Final

from gateway.cases.sealing import SubjectErased
from gateway.cases.service import CaseRecord

MAIN_SUBJECT: Final = "s1"


def subject_pseudonym(case: CaseRecord, ref: str) -> str:
    """The subject's pseudonym; 404 ``unknown-subject`` (or ``subject-erased``) otherwise."""
    about = case.about(ref)
    # ``about`` answers s1 from the case row; an erased hoofdpersoon shows in her ref.
    if any(s.ref == ref and s.pseudonym is None for s in case.subjects):
        raise SubjectErased()
    return about.subject_pseudonym
