"""The record that may leave the gateway: what the broker minimises to and the copy store keeps.

Here, below both, so the copy store does not import the broker that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.models import JsonValue


@dataclass(frozen=True)
class DisclosedRecord:
    """One record that may leave; ``contested`` while a correctie of it is pending (API.md §3)."""

    id: str
    updated: str
    fields: Mapping[str, JsonValue] = field(repr=False)
    contested: bool = False

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "id": self.id,
            "updated": self.updated,
            "fields": dict(self.fields),
        }
        if self.contested:
            body["contested"] = True
        return body
