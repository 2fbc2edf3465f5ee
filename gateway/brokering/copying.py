"""Time-limited copies in a query (docs/retention.md): served only where the decision
made now permits, trimmed to its fields; kept only after the log commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway import offload
from gateway.brokering.results import SourceResult
from gateway.cases.service import CaseRecord
from gateway.copies import CopySlot, CopyStore
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import Decision


class Planned(Protocol):
    @property
    def decision(self) -> Decision | None: ...

    @property
    def consent_id(self) -> str | None: ...


def _slots(items: Sequence[Planned], results: Sequence[SourceResult]) -> list[CopySlot]:
    return [
        CopySlot(
            result.source,
            result.category,
            result.status,
            result.records,
            item.decision.fields if item.decision is not None and item.decision.permitted else None,
        )
        for item, result in zip(items, results, strict=True)
    ]


async def serve_copies(
    store: CopyStore, case: CaseRecord, items: Sequence[Planned], results: list[SourceResult]
) -> list[SourceResult]:
    """An unavailable source's unexpired copy, only where the decision permits it now."""
    served = list(results)
    for index, slot in enumerate(_slots(items, results)):
        if slot.status != "unavailable" or slot.permitted_fields is None or not slot.source:
            continue
        records = await offload.run_sync(
            store.serve,
            case.id,
            case.subject_pseudonym,
            slot.source,
            slot.category,
            slot.permitted_fields,
        )
        if records is not None:
            served[index] = SourceResult(
                slot.source,
                slot.category,
                "ok",
                "cached_copy",
                items[index].consent_id,
                records,
                0,
            )
    return served


async def keep_copies(
    store: CopyStore,
    policy: CompiledPolicy,
    case: CaseRecord,
    items: Sequence[Planned],
    results: Sequence[SourceResult],
    fetched_at: datetime | None = None,
) -> None:
    """After the log commit: keep fresh answers as copies when the covenant sets ``copies``."""
    fresh = [
        slot
        for slot, result in zip(_slots(items, results), results, strict=True)
        # A slot with contested records left out is not a whole answer: the old
        # copy stays until an answer can be kept whole (rights.contested: withhold).
        if result.reason != "cached_copy" and not result.contested_withheld
    ]
    if not store.would_keep(policy, case.convenant, case.id, fresh):
        return
    await offload.run_sync(
        store.keep, policy, case.convenant, case.id, case.subject_pseudonym, fresh, fetched_at
    )
