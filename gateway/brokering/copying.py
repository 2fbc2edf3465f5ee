"""Time-limited copies in a query (docs/retention.md): served only where the decision
made now permits, trimmed to its fields; kept only after the log commit.

Sources stay authoritative: a copy stands in only when the source said nothing at
all (timeout, no connection, 5xx). An answer of its own that is not records (not
found, refused, a peer's denial or pending consent) deletes the slot's copies, and a
peer gateway whose OvJ decides on the slot is asked live or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway import offload
from gateway.brokering.results import SourceResult
from gateway.cases.service import CaseRecord
from gateway.copies import CopySlot, CopyStore, copies_duration
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import Decision


class Planned(Protocol):
    @property
    def decision(self) -> Decision | None: ...

    @property
    def consent_id(self) -> str | None: ...

    @property
    def remote(self) -> bool: ...


def _permitted_fields(item: Planned) -> frozenset[str] | None:
    decision = item.decision
    return decision.fields if decision is not None and decision.permitted else None


def peer_decides(policy: CompiledPolicy, covenant_id: str, item: Planned, r: SourceResult) -> bool:
    """A peer gateway's OvJ decides this slot: no copy is kept of it or served for it.

    Our decision counts a peer's consent as given (only the peer can see it), so a
    copy would outlive the peer OvJ's revocation, and we would not know its
    withholding (``withheld_until``) for the next recipient the copy went to. That
    holds for every category our covenant puts under consent, and for any answer that
    rested on a peer consent or carried a peer withholding (the peer's covenant may
    weigh a category more heavily than ours): fail closed.
    """
    if not item.remote:
        return False
    if r.consent_id is not None or r.withheld_until is not None:
        return True
    compiled = policy.covenants.get(covenant_id)
    category = compiled.categories.get(r.category) if compiled is not None else None
    return category is None or category.needs_consent


async def serve_copies(
    store: CopyStore,
    policy: CompiledPolicy,
    case: CaseRecord,
    items: Sequence[Planned],
    results: list[SourceResult],
) -> list[SourceResult]:
    """Delete the copies the sources' own answers overrule; serve an unexpired copy for a
    source that said nothing at all, only where the decision permits it now."""
    served = list(results)
    overruled: list[tuple[str, str]] = []
    # Each slot's permitted fields once, and ``peer_decides`` asked only for a remote
    # slot (it is False for every other): a few calls per source and query (issue 16).
    permitted = [_permitted_fields(item) for item in items]
    for item, result, fields in zip(items, results, permitted, strict=True):
        if not result.source or fields is None:
            continue
        if result.copies == "drop" or (
            result.status == "ok"
            and item.remote
            and peer_decides(policy, case.convenant, item, result)
        ):
            overruled.append((result.source, result.category))
    if overruled and copies_duration(policy, case.convenant) is not None:
        # To its end: a cancelled query must still drop what the source overruled (a
        # job not yet started when its caller is cancelled would otherwise never run).
        await offload.run_to_end(store.drop, case.id, overruled)
    for index, (item, result, fields) in enumerate(zip(items, results, permitted, strict=True)):
        if result.copies != "bridge" or not result.source or fields is None:
            continue
        if item.remote and peer_decides(policy, case.convenant, item, result):
            continue
        records = await offload.run_sync(
            store.serve,
            policy,
            case.convenant,
            case.id,
            case.subject_pseudonym,
            result.source,
            result.category,
            fields,
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
    fetched_at: datetime,
) -> None:
    """After the log commit: keep fresh answers as copies when the covenant sets ``copies``.

    Only an ``ok`` answer from a named source with records can become a copy
    (``CopyStore.keep`` skips every other slot), so only those are handed over;
    never one a peer's OvJ decides (:func:`peer_decides`, dropped in :func:`serve_copies`).
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
        and not (item.remote and peer_decides(policy, case.convenant, item, result))
    ]
    if not fresh or not store.would_keep(policy, case.convenant, case.id, fresh):
        return
    await offload.run_sync(
        store.keep, policy, case.convenant, case.id, case.subject_pseudonym, fresh, fetched_at
    )
