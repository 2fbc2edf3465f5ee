"""Pushed source deletions (API.md §7): a source tells us it deleted its own records.

Only the source party itself may push, and only for its own records: the
path names the party, the token must be that party's, and the party must hold
a source in the token's covenant. Copies from any other source are never
touched. The body's validation error would quote BSNs, so it is replaced by
one fixed message.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from connectors import DeletionEvent
from connectors.source_api import parse_pushed_deletions
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.problems import Forbidden, Unprocessable
from gateway.retention.deletions import apply_deletions
from gateway.runtime import Runtime

router = APIRouter(prefix="/v1/sources", tags=["sources"])


class NotThisSource(Forbidden):
    slug = "not-this-source"
    title = "A source pushes deletions for its own records only"


@router.post("/{party}/deletions")
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
    except ValidationError:
        raise Unprocessable(
            detail='The body is not {"events": [...]} in the deletion feed\'s shape.'
        ) from None

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
