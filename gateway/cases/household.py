"""The people of a case: ``s1``, ``s2``, … each with a role from the covenant.

A household case (API.md §2a) names several people — the hoofdpersoon, a
partner, children, a victim. Each is its own pseudonym with its own sealed BSN,
so each is logged and erased on its own; answers and log entries name them only
by ``ref`` and ``role``. ``s1`` is always the hoofdpersoon (the case's
``subject_pseudonym``), so a query without ``subject`` keeps asking about the
person it asked about before household cases existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.policy.models import MAIN_SUBJECT_ROLE, Covenant
from gateway.problems import Conflict, NotFound, Unprocessable
from gateway.subjects.bsn import Bsn

MAX_SUBJECTS = 20
OLDEST_BIRTH_YEAR = 1900


@dataclass(frozen=True, slots=True)
class NewSubject:
    """A person named on open or added later; the BSN is already 11-proof."""

    bsn: Bsn
    role: str
    birth_year: int | None = None


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """One person of a case as the case knows them; ``pseudonym`` None once erased."""

    ref: str
    role: str
    birth_year: int | None
    pseudonym: str | None


class UnknownSubjectRole(Unprocessable):
    slug = "subject-role"
    title = "The subject role is not one of the covenant's subject_roles"


class DuplicateSubject(Unprocessable):
    """Never says which BSN: the answer must not confirm one."""

    slug = "duplicate-subject"
    title = "The same person is named twice in one case"


class SubjectExists(Conflict):
    slug = "subject-exists"
    title = "The person is already a subject of this case"


class UnknownSubject(NotFound):
    slug = "unknown-subject"
    title = "The case has no subject with this ref"


def ref_for(position: int) -> str:
    return f"s{position}"


def check_roles(covenant: Covenant, subjects: Sequence[NewSubject]) -> None:
    allowed = covenant.subject_roles
    wrong = sorted({s.role for s in subjects if s.role not in allowed})
    if wrong:
        raise UnknownSubjectRole(
            detail="A subject role is not allowed by the covenant.",
            extensions={"allowed_roles": list(allowed)},
        )
    this_year = datetime.now(UTC).year
    for subject in subjects:
        year = subject.birth_year
        if year is not None and not OLDEST_BIRTH_YEAR <= year <= this_year:
            raise Unprocessable(
                detail=f"birth_year must lie between {OLDEST_BIRTH_YEAR} and {this_year}."
            )


def order_household(subjects: Sequence[NewSubject]) -> list[NewSubject]:
    """The hoofdpersoon first (she becomes ``s1``), the others in the order given.

    Exactly one hoofdpersoon: she is whom a query without ``subject`` is about.
    """
    if not subjects:
        raise Unprocessable(detail="A case names at least one subject.")
    if len(subjects) > MAX_SUBJECTS:
        raise Unprocessable(detail=f"A case names at most {MAX_SUBJECTS} subjects.")
    main = [s for s in subjects if s.role == MAIN_SUBJECT_ROLE]
    if len(main) != 1:
        raise Unprocessable(
            detail="A case names exactly one subject with role hoofdpersoon.",
            extensions={"reason": "one_hoofdpersoon"},
        )
    if len({s.bsn for s in subjects}) != len(subjects):
        raise DuplicateSubject()
    return [main[0], *(s for s in subjects if s.role != MAIN_SUBJECT_ROLE)]
