"""Legal grounds per case and subject (API.md §2b): thin handlers over the ground desk.

A refused call (not a participant, other covenant or purpose, unknown case or
ground) leaves a denial entry through ``logging_refusals`` like every case call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from gateway.api.models import Id, StrictBody, Text
from gateway.api.openapi import PartnerRoute
from gateway.api.refusals import logging_refusals
from gateway.api.schemas.grounds import GroundListOut, GroundOut
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.cases.service import Actor
from gateway.grounds.service import GroundIn
from gateway.wiring import runtime_of

router = APIRouter(prefix="/v1/cases", tags=["grounds"], route_class=PartnerRoute)
CaseId = Annotated[str, Field(pattern=r"^c-[0-9a-z]{20}$")]
GroundId = Annotated[str, Field(pattern=r"^gr-[0-9a-f]{20}$")]
SubjectRef = Annotated[str, Field(pattern=r"^s[1-9][0-9]{0,3}$")]


class GroundBody(StrictBody):
    subject: SubjectRef = "s1"
    ground: Literal["toestemming_betrokkene", "conflict_van_plichten", "wettelijke_grondslag"]
    article: Text | None = Field(default=None, max_length=200)
    reference: Text = Field(min_length=1)
    categories: list[Id] = Field(min_length=1, max_length=50)
    recipients: list[Id] | None = Field(default=None, min_length=1, max_length=100)
    valid_until: date | None = None


class WithdrawBody(StrictBody):
    reason: Text = Field(min_length=1)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.party, principal.employee, principal.covenant, principal.purpose)


def _today() -> date:
    return datetime.now(UTC).date()


@router.post("/{case_id}/grounds", status_code=201, response_model=GroundOut)
def record_ground(
    case_id: CaseId,
    body: GroundBody,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> GroundOut:
    runtime = runtime_of(request)
    actor = _actor(principal)
    ground = GroundIn(
        subject=body.subject,
        ground=body.ground,
        article=body.article,
        reference=body.reference,
        categories=body.categories,
        recipients=body.recipients,
        valid_until=body.valid_until,
    )
    with logging_refusals(runtime, actor, "record_ground", case_id):
        view = runtime.ground_desk.record(actor, case_id, ground)
    return GroundOut.of(view, _today())


@router.get("/{case_id}/grounds", response_model=GroundListOut)
def list_grounds(
    case_id: CaseId,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> GroundListOut:
    runtime = runtime_of(request)
    actor = _actor(principal)
    with logging_refusals(runtime, actor, "list_grounds", case_id):
        views = runtime.ground_desk.of_case(actor, case_id)
    today = _today()
    return GroundListOut(grounds=[GroundOut.of(view, today) for view in views])


@router.post("/{case_id}/grounds/{ground_id}/withdraw", response_model=GroundOut)
def withdraw_ground(
    case_id: CaseId,
    ground_id: GroundId,
    body: WithdrawBody,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> GroundOut:
    runtime = runtime_of(request)
    actor = _actor(principal)
    with logging_refusals(runtime, actor, "withdraw_ground", case_id):
        view = runtime.ground_desk.withdraw(actor, case_id, ground_id, body.reason)
    return GroundOut.of(view, _today())
