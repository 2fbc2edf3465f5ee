"""How /privacy says the audit log's integrity in words for the FG (presentation only).

The check itself is the audit capability's (:mod:`gateway.audit.head_check`,
through ``runtime.audit_desk``); this module only turns its machine-readable
state into the Dutch sentence the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateway.audit.anomalies import DENIALS_PER_5_MIN, MANY_SUBJECTS_PER_HOUR, Anomalies
from gateway.audit.head_check import HeadCheck, HeadProblem

__all__ = [
    "DENIALS_PER_5_MIN",
    "MANY_SUBJECTS_PER_HOUR",
    "NO_CHECKPOINT",
    "Anomalies",
    "IntegrityStatus",
    "integrity_status",
]

NO_CHECKPOINT = "Nog geen ondertekend checkpoint."
PROBLEM_TEXT: Final[dict[HeadProblem, str]] = {
    "no_checkpoint": NO_CHECKPOINT,
    "no_key": "Geen sleutel om het checkpoint te controleren.",
    "tree_mismatch": "De opgeslagen boom past niet bij het ondertekende checkpoint.",
    "bad_signature": "De handtekening van het checkpoint is ongeldig.",
    "keys_unavailable": "De controlesleutels zijn niet beschikbaar.",
    "tree_incomplete": "De opgeslagen boom is onvolledig.",
    "entries_missing": "Het checkpoint is groter dan het log: er zijn regels verdwenen.",
}


@dataclass(frozen=True)
class IntegrityStatus:
    """The latest signed tree head and whether it holds, in words for the FG."""

    head_size: int
    checkpoint_size: int | None
    checkpoint_time: str | None
    root_hash: str | None
    ok: bool
    problem: str | None


def integrity_status(head: HeadCheck) -> IntegrityStatus:
    return IntegrityStatus(
        head_size=head.head_size,
        checkpoint_size=head.checkpoint_size,
        checkpoint_time=head.checkpoint_time,
        root_hash=head.root_hash,
        ok=head.ok,
        problem=PROBLEM_TEXT[head.problem] if head.problem is not None else None,
    )
