"""Pushed source deletions (API.md §7): a source tells us it deleted its own records.

A thin router over :class:`gateway.retention.source_desk.SourceDesk`.

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

from connectors.source_api import MAX_PUSHED_DELETIONS, parse_pushed_deletions
from gateway.api.openapi import PartnerRoute
from gateway.api.schemas.sources import DeletionsOut
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.problems import Unprocessable
from gateway.retention.source_desk import NotThisSource, UnknownDeletionCategory
from gateway.wiring import runtime_of

__all__ = ["NotThisSource", "UnknownDeletionCategory", "router"]

router = APIRouter(prefix="/v1/sources", tags=["sources"], route_class=PartnerRoute)


def _too_many_events(error: ValidationError) -> bool:
    return any(
        e.get("type") == "too_long" and tuple(e.get("loc", ())) == ("events",)
        for e in error.errors()
    )


@router.post("/{party}/deletions", response_model=DeletionsOut)
async def push_deletions(
    party: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict[str, Any]:
    desk = runtime_of(request).source_desk
    desk.admit(principal.party, principal.covenant, party)
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
    copies = await anyio.to_thread.run_sync(desk.push, principal.covenant, party, events)
    return {"accepted": len(events), "copies_deleted": copies}
