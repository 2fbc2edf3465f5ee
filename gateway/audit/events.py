"""What callers hand to the audit log: one :class:`AuditEvent` per action per person.

An event carries identifiers and counts only, never a BSN or a returned field
value; the subject comes as its keyed pseudonym and is sealed before it is
hashed into the tree (promise 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

SubjectScope = Literal["case", "subject", "strafrechtelijk"]
DetailValue = str | int | bool | None

KINDS = frozenset(
    {"decision", "disclosure", "consent", "case", "rights", "deletion", "key", "auth", "audit"}
)
SCOPES: frozenset[str] = frozenset({"case", "subject", "strafrechtelijk"})
_EMPTY: Mapping[str, DetailValue] = MappingProxyType({})


def processing_activity_uri(convenant: str, purpose: str) -> str:
    """Stable URI for covenant + purpose (``dpl.core.processing_activity_id``)."""
    return f"urn:ketenpoort:processing:{convenant}:{purpose}"


@dataclass(frozen=True)
class AuditEvent:
    """One action to log. ``subject_scope`` picks the data key class:

    ``case`` per (subject, case); ``subject`` per subject alone (rights
    requests); ``strafrechtelijk`` per (subject, case) with its own, at least
    four-year retention (Wjsg art. 39j).
    """

    kind: str
    outcome: str
    party: str | None = None
    employee: str | None = None
    convenant: str | None = None
    purpose: str | None = None
    case: str | None = None
    source: str | None = None
    category: str | None = None
    reason: str | None = None
    consent_id: str | None = None
    records: int | None = None
    trimmed_fields: int | None = None
    subject_pseudonym: str | None = None
    subject_scope: SubjectScope = "case"
    covenant_version: str | None = None
    processing_activity: str | None = None
    encrypt_employee: bool = False
    details: Mapping[str, DetailValue] = field(default_factory=lambda: _EMPTY)
    trace_id: str | None = None
    span_id: str | None = None

    def __post_init__(self) -> None:
        if not self.kind or not self.outcome:
            raise ValueError("an audit event needs a kind and an outcome")
        if self.subject_scope not in SCOPES:
            raise ValueError(f"unknown subject scope {self.subject_scope!r}")
        scoped_by_case = self.subject_scope != "subject"
        if self.subject_pseudonym is not None and scoped_by_case and not self.case:
            raise ValueError("a case-scoped subject needs the case id")
        if self.encrypt_employee and self.subject_pseudonym is None:
            raise ValueError("encrypt_employee needs a subject whose key seals the employee")
        for name, value in self.details.items():
            if not isinstance(name, str) or not isinstance(value, str | int | bool | None):
                raise ValueError("details hold str keys and str/int/bool/None values only")
        for count in (self.records, self.trimmed_fields):
            if count is not None and (type(count) is not int or count < 0):
                raise ValueError("counts are non-negative integers")

    def activity(self) -> str | None:
        if self.processing_activity is not None:
            return self.processing_activity
        if self.convenant and self.purpose:
            return processing_activity_uri(self.convenant, self.purpose)
        return None
