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


def _permitted_fields(item: Planned) -> frozenset[str] | None:
    decision = item.decision
    return decision.fields if decision is not None and decision.permitted else None


async def serve_copies(
    store: CopyStore, case: CaseRecord, items: Sequence[Planned], results: list[SourceResult]
) -> list[SourceResult]:
    """An unavailable source's unexpired copy, only where the decision permits it now."""
    served = list(results)
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        if result.status != "unavailable" or not result.source:
            continue
        fields = _permitted_fields(item)
        if fields is None:
            continue
        records = await offload.run_sync(
            store.serve, case.id, case.subject_pseudonym, result.source, result.category, fields
        )
        if records is not None:
            served[index] = SourceResult(
                result.source, result.category, "ok", "cached_copy", item.consent_id, records, 0
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
    """After the log commit: keep fresh answers as copies when the covenant sets ``copies``.

    Only an ``ok`` answer from a named source with records can become a copy
    (``CopyStore.keep`` skips every other slot), so only those are handed over.
    """
    fresh = [
        CopySlot(
            result.source,
            result.category,
            result.status,
            result.records,
            _permitted_fields(item),
        )
        for item, result in zip(items, results, strict=True)
        if result.status == "ok"
        and result.source
        and result.records is not None
        # A slot with contested records left out is not a whole answer: the old
        # copy stays until an answer can be kept whole (rights.contested: withhold).
        and result.reason != "cached_copy"
        and not result.contested_withheld
    ]
    if not fresh or not store.would_keep(policy, case.convenant, case.id, fresh):
        return
    await offload.run_sync(
        store.keep, policy, case.convenant, case.id, case.subject_pseudonym, fresh, fetched_at
    )
