"""Federation calls (docs/federation.md): thin handlers over gateway.federation.

``/v1/federation/*`` are called by peer gateways (role ``zvh_gateway`` in our
covenant); ``/v1/cases/{id}/known-elsewhere`` by our own partners.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, Field

from gateway.api.models import Id, PeerMintedId, RecordId, StrictBody, SubjectIn, Text
from gateway.api.openapi import PartnerRoute
from gateway.api.refusals import logging_refusals_async
from gateway.api.rights import RequestId
from gateway.api.schemas.federation import (
    KnownElsewhereOut,
    KnownOut,
    MirrorOut,
    PeerAnswerOut,
    PeerRightsOut,
    PeerRightsOutcomeOut,
)
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.cases.service import Actor
from gateway.policy.models import Phase
from gateway.problems import Unprocessable
from gateway.rights.service import Application
from gateway.subjects.bsn import Bsn, InvalidBsnError, holds_bsn, holds_long_number
from gateway.wiring import runtime_of

router = APIRouter(tags=["federation"], route_class=PartnerRoute)
CaseId = Annotated[str, Field(pattern=r"^c-[0-9a-z]{20}$")]


def _no_bsn(value: str) -> str:
    """Employee ids are logged in clear: one holding a BSN is refused."""
    if holds_bsn(value):
        raise ValueError("must not contain a BSN")
    return value


def _employee_id(value: str) -> str:
    """An employee id is refused as the X-Ketenpoort-Employee header is (docs/auth.md)."""
    if holds_long_number(value):
        raise ValueError("must not hold 8 or more digits")
    return _no_bsn(value)


# The peer's own case or rights request id: any id a peer gateway mints (older ones
# included) is accepted, a BSN in it is not (gateway.api.models.PeerMintedId).
PeerId = PeerMintedId


class PeerRequesterIn(StrictBody):
    party: Id
    employee: Annotated[str, Field(pattern=r"^[\w.@:+-]{1,128}$"), AfterValidator(_employee_id)]


class MirrorIn(StrictBody):
    subject: SubjectIn
    phase: Phase
    peer_case: PeerId | None = None
    requester: PeerRequesterIn | None = None


class KnownIn(StrictBody):
    subject: SubjectIn
    peer_case: PeerId | None = None
    requester: PeerRequesterIn | None = None


class PeerRightsIn(StrictBody):
    """A correctie/verzet the person filed at the peer region, passed on to us."""

    type: Literal["correctie", "verzet"]
    subject: SubjectIn
    peer_request: PeerId
    details: Text = Field(min_length=1)
    records: list[RecordId] = Field(default_factory=list, max_length=200)
    deadline: date


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


@router.post(
    "/v1/federation/rights-requests",
    status_code=201,
    response_model=PeerRightsOut,
    responses={403: {}, 409: {}, 422: {}},
)
async def peer_rights_request(
    body: PeerRightsIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    """A peer region's correctie/verzet, filed here as its own request.

    ``201`` when filed; ``200`` with the same body when the peer repeats a
    ``peer_request`` it filed before (a retry).
    """
    if body.deadline < datetime.now(UTC).date():
        raise Unprocessable(detail="deadline lies in the past.")
    application = Application(
        type=body.type,
        bsn=_bsn(body.subject),
        details=body.details,
        records=tuple(body.records),
        deadline=body.deadline,
    )
    peer_rights = runtime_of(request).federation.rights
    filed = await peer_rights.file(_actor(principal), body.peer_request, application)
    if filed.repeated:
        response.status_code = 200
    view = filed.view
    return {"id": view.id, "type": view.type, "status": view.status, "deadline": view.deadline}


@router.get(
    "/v1/federation/rights-requests/{request_id}",
    response_model=PeerRightsOutcomeOut,
    responses={403: {}, 404: {}},
)
def peer_rights_outcome(
    request_id: RequestId,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    """Where the filing peer's request stands; 404 for every other caller."""
    view = runtime_of(request).federation.rights.outcome(_actor(principal), request_id)
    return {
        "id": view.id,
        "peer_request": view.peer_request,
        "type": view.type,
        "status": view.status,
        "decided_at": view.decided_at,
        "execute_by": view.execute_by,
        "executed_at": view.executed_at,
    }
