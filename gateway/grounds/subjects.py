"""Which person a subject ref of a case names (``s1`` …; API.md §2a).

One function, so the grounds follow the case's own subjects: ``s1`` is the
hoofdpersoon, a household case names more (``CaseRecord.about``).
"""

from __future__ import annotations

from typing import Final

from gateway.cases.service import CaseRecord

MAIN_SUBJECT: Final = "s1"


def subject_pseudonym(case: CaseRecord, ref: str) -> str:
    """The subject's pseudonym; 404 ``unknown-subject`` (or ``subject-erased``) otherwise."""
    return case.about(ref).subject_pseudonym
