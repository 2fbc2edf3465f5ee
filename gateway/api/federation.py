"""Federation calls (docs/federation.md): thin handlers over gateway.federation.

``/v1/federation/*`` are called by peer gateways (role ``zvh_gateway`` in our
covenant); ``/v1/cases/{id}/known-elsewhere`` by our own partners.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, Field

from gateway.api.models import Id, StrictBody, SubjectIn
from gateway.api.openapi import partner_credentials
from gateway.api.refusals import logging_refusals_async
from gateway.api.schemas.federation import (
    KnownElsewhereOut,
    KnownOut,
    MirrorOut,
    PeerAnswerOut,
)
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.cases.service import Actor
from gateway.policy.models import Phase
from gateway.problems import Unprocessable
from gateway.subjects.bsn import Bsn, InvalidBsnError, holds_bsn
from gateway.wiring import runtime_of

router = APIRouter(tags=["federation"], dependencies=[Depends(partner_credentials)])
CaseId = Annotated[str, Field(pattern=r"^c-[0-9a-z]{20}$")]


def _no_bsn(value: str) -> str:
    """Peer case ids and employee ids are logged in clear: one holding a BSN is refused."""
    if holds_bsn(value):
        raise ValueError("must not contain a BSN")
    return value


PeerId = Annotated[Id, AfterValidator(_no_bsn)]


class PeerRequesterIn(StrictBody):
    party: Id
    employee: Annotated[str, Field(pattern=r"^[\w.@:+-]{1,128}$"), AfterValidator(_no_bsn)]


class MirrorIn(StrictBody):
    subject: SubjectIn
    phase: Phase
    peer_case: PeerId | None = None
    requester: PeerRequesterIn | None = None


class KnownIn(StrictBody):
    subject: SubjectIn
    peer_case: PeerId | None = None
    requester: PeerRequesterIn | None = None


def _actor(principal: Principal) -> Actor:
    return Actor(principal.party, principal.employee, principal.covenant, principal.purpose)


def _bsn(subject: SubjectIn) -> Bsn:
    try:
        return Bsn(subject.bsn)
    except InvalidBsnError:
        raise Unprocessable(detail="subject.bsn is not a valid BSN (11-proof).") from None


@router.post("/v1/federation/cases", response_model=MirrorOut, responses={403: {}, 422: {}})
def mirror_case(
    body: MirrorIn, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict[str, Any]:
    """The peer's mirror case for this subject, in the phase of the peer's own case."""
    mirror = runtime_of(request).federation.desk.mirror(
        _actor(principal),
        _bsn(body.subject),
        body.phase,
        peer_case=body.peer_case,
        peer_requester=body.requester.party if body.requester else None,
    )
    return {"id": mirror.case.id, "phase": mirror.case.phase, "status": mirror.case.status}


@router.post("/v1/federation/known", response_model=KnownOut, responses={403: {}, 422: {}})
async def known_here(
    body: KnownIn, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict[str, Any]:
    """Only whether this region has an open case for the person; nothing else."""
    services = runtime_of(request).federation
    known = await services.known_here.answer(_actor(principal), _bsn(body.subject), body.peer_case)
    return {"known": known}


@router.post(
    "/v1/cases/{case_id}/known-elsewhere",
    response_model=KnownElsewhereOut,
    responses={403: {}, 404: {}},
)
async def known_elsewhere(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> KnownElsewhereOut:
    """Asks every peer gateway of the covenant at once: known, unknown, unavailable, denied."""
    runtime = runtime_of(request)
    services = runtime.federation
    actor = _actor(principal)
    async with logging_refusals_async(runtime, actor, "known_elsewhere", case_id):
        answers, trace_id = await services.known_elsewhere.ask(actor, case_id)
    return KnownElsewhereOut(
        case=case_id, results=[PeerAnswerOut.of(answer) for answer in answers], trace_id=trace_id
    )
