"""Pushed source deletions (API.md §7): a source tells us it deleted its own records.

Only the source party itself may push, and only for its own records: the
path names the party, the token must be that party's, and the party must hold
a source in the token's covenant. Copies from any other source are never
touched. The body's validation error would quote BSNs, so it is replaced by
one fixed message.

Each event becomes one audit entry, so a batch is bounded
(``MAX_PUSHED_DELETIONS``) and every category must be one of the catalogue's:
free-text categories would otherwise flood the log with whatever a source
(or a stolen source token) sends.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from connectors import DeletionEvent
from connectors.source_api import MAX_PUSHED_DELETIONS, parse_pushed_deletions
from gateway.api.openapi import partner_credentials
from gateway.api.schemas.sources import DeletionsOut
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Forbidden, Unprocessable
from gateway.retention.deletions import apply_deletions
from gateway.wiring import Runtime

router = APIRouter(
    prefix="/v1/sources", tags=["sources"], dependencies=[Depends(partner_credentials)]
)


class NotThisSource(Forbidden):
    slug = "not-this-source"
    title = "A source pushes deletions for its own records only"


class UnknownDeletionCategory(Unprocessable):
    slug = "unknown-category"
    title = "A pushed deletion names a category the catalogue does not declare"


def _known_categories(policy: CompiledPolicy, covenant: str) -> frozenset[str]:
    """The installation's catalogue (a copy may predate a covenant change), else the covenant's."""
    if policy.policy_set is not None:
        return frozenset(entry.id for entry in policy.policy_set.catalogue.categories)
    compiled = policy.covenants.get(covenant)
    return frozenset(compiled.categories) if compiled is not None else frozenset()


def _too_many_events(error: ValidationError) -> bool:
    return any(
        e.get("type") == "too_long" and tuple(e.get("loc", ())) == ("events",)
        for e in error.errors()
    )


@router.post("/{party}/deletions", response_model=DeletionsOut)
async def push_deletions(
    party: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    if principal.party != party:
        raise NotThisSource()
    member = runtime.policy.current.party(principal.covenant, party)
    if member is None or member.source is None:
        raise NotThisSource(detail="The party has no source registration in this covenant.")
    try:
        events = parse_pushed_deletions(await request.body())
    except ValidationError as error:
        if _too_many_events(error):
            raise Unprocessable(
                detail=f"At most {MAX_PUSHED_DELETIONS} events per batch; send several batches.",
                extensions={"reason": "batch_too_large", "max_events": MAX_PUSHED_DELETIONS},
            ) from None
        raise Unprocessable(
            detail='The body is not {"events": [...]} in the deletion feed\'s shape.'
        ) from None
    known = _known_categories(runtime.policy.current, principal.covenant)
    unknown = [index for index, event in enumerate(events) if event.category not in known]
    if unknown:
        # Positions, not the categories: nothing the client sent is echoed back.
        raise UnknownDeletionCategory(
            detail="Every event's category must be a category of the catalogue.",
            extensions={"reason": "unknown_category", "events": unknown[:50]},
        )

    def apply(found: list[DeletionEvent]) -> int:
        with runtime.db.session() as session:
            return apply_deletions(
                session,
                runtime.audit,
                covenant=principal.covenant,
                source=party,
                events=found,
                channel="push",
            )

    copies = await anyio.to_thread.run_sync(apply, events)
    return {"accepted": len(events), "copies_deleted": copies}
