"""Minimisation (promise 4): only fields of permitted categories leave.

Whatever a source sends beyond that — an unasked category, an internal note —
is dropped here, in one place, and counted so the audit log shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.models import Record
from gateway.copies.records import DisclosedRecord

__all__ = ["DisclosedRecord", "Minimised", "minimise"]


@dataclass
class Minimised:
    """Per permitted category the records that may leave, plus what was cut."""

    records: dict[str, list[DisclosedRecord]]
    trimmed_fields: dict[str, int]
    dropped_records: int = 0
    dropped_fields: int = 0


def minimise(records: Sequence[Record], permitted: Mapping[str, frozenset[str]]) -> Minimised:
    """Keep records of ``permitted`` categories with only their permitted fields."""
    result = Minimised(
        records={category: [] for category in permitted},
        trimmed_fields=dict.fromkeys(permitted, 0),
    )
    for record in records:
        allowed = permitted.get(record.category)
        if allowed is None:
            result.dropped_records += 1
            result.dropped_fields += len(record.fields)
            continue
        fields = record.fields
        if fields.keys() <= allowed:  # the usual answer: nothing to cut (no per-field loop)
            kept = dict(fields)
        else:
            kept = {name: value for name, value in fields.items() if name in allowed}
            result.trimmed_fields[record.category] += len(fields) - len(kept)
        result.records[record.category].append(
            DisclosedRecord(
                id=record.id,
                updated=record.updated.isoformat(),
                fields=kept,
                contested=record.contested,
            )
        )
    return result
