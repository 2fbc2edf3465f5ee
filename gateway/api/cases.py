"""Cases and queries (API.md §2–3): thin handlers over the case service and broker."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from gateway.api.models import Id, StrictBody, SubjectIn, Text
from gateway.api.openapi import partner_credentials
from gateway.api.refusals import logging_refusals, logging_refusals_async
from gateway.api.schemas.cases import CaseOut, QueryOut
from gateway.audit.events import AuditEvent
from gateway.auth.dependencies import current_principal, query_principal
from gateway.auth.principal import Principal
from gateway.brokering.broker import QueryScope
from gateway.brokering.services import brokering_services
from gateway.cases.service import Actor, CaseRecord
from gateway.consent.service import Motivation
from gateway.policy.models import Phase
from gateway.problems import Unprocessable
from gateway.runtime import Runtime
from gateway.subjects.bsn import Bsn, InvalidBsnError

router = APIRouter(prefix="/v1/cases", tags=["cases"], dependencies=[Depends(partner_credentials)])
CaseId = Annotated[str, Field(pattern=r"^c-[0-9a-z]{20}$")]


class CaseIn(StrictBody):
    convenant: Id
    purpose: Id
    subject: SubjectIn
    participants: list[Id] = Field(default_factory=list, max_length=100)
    phase: Phase = "signalering"


class ParticipantIn(StrictBody):
    party: Id


class PhaseIn(StrictBody):
    phase: Phase


class MotivationIn(StrictBody):
    code: Id
    text: Text = Field(min_length=1, max_length=2000)


class QueryIn(StrictBody):
    categories: list[Id] = Field(min_length=1, max_length=50)
    sources: list[Id] | None = Field(default=None, max_length=50)
    # The case's subject the query is about (default the hoofdpersoon, s1), and why the
    # requester needs criminal data: required when a category is strafrechtelijk.
    subject: Annotated[str, Field(pattern=r"^s[1-9][0-9]{0,3}$")] = "s1"
    motivation: MotivationIn | None = None


def _actor(principal: Principal) -> Actor:
    return Actor(principal.party, principal.employee, principal.covenant, principal.purpose)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _case_event(
    runtime: Runtime, actor: Actor, case: CaseRecord, outcome: str, **details: str
) -> AuditEvent:
    """The token's covenant and purpose: the case service has checked they are the case's."""
    return AuditEvent(
        kind="case",
        outcome=outcome,
        party=actor.party,
        employee=actor.employee,
        convenant=actor.covenant,
        purpose=actor.purpose,
        case=case.id,
        subject_pseudonym=case.subject_pseudonym,
        covenant_version=runtime.policy.current.covenant_version(actor.covenant),
        details={"phase": case.phase, **details},
    )


@router.post("", status_code=201, response_model=CaseOut)
def open_case(
    body: CaseIn, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> CaseOut:
    runtime = _runtime(request)
    services = brokering_services(runtime)
    try:
        bsn = Bsn(body.subject.bsn)
    except InvalidBsnError:
        raise Unprocessable(detail="subject.bsn is not a valid BSN (11-proof).") from None
    actor = _actor(principal)
    with logging_refusals(runtime, actor, "open"), runtime.db.session() as session:
        case = services.cases.open(
            session,
            actor,
            convenant=body.convenant,
            purpose=body.purpose,
            bsn=bsn,
            participants=body.participants,
            phase=body.phase,
        )
        runtime.audit.append_in(session, [_case_event(runtime, actor, case, "opened")])
    return CaseOut.of(case)


@router.get("/{case_id}", response_model=CaseOut)
def get_case(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> CaseOut:
    runtime = _runtime(request)
    actor = _actor(principal)
    with logging_refusals(runtime, actor, "get", case_id), runtime.db.session() as session:
        case = brokering_services(runtime).cases.get(session, actor, case_id)
    return CaseOut.of(case)


@router.post("/{case_id}/participants", response_model=CaseOut)
def add_participant(
    case_id: CaseId,
    body: ParticipantIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> CaseOut:
    runtime = _runtime(request)
    actor = _actor(principal)
    with (
        logging_refusals(runtime, actor, "add_participant", case_id),
        runtime.db.session() as session,
    ):
        case = brokering_services(runtime).cases.add_participant(
            session, actor, case_id, body.party
        )
        runtime.audit.append_in(
            session,
            [_case_event(runtime, actor, case, "participant_added", participant=body.party)],
        )
    return CaseOut.of(case)


@router.patch("/{case_id}", response_model=CaseOut)
def change_phase(
    case_id: CaseId,
    body: PhaseIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> CaseOut:
    runtime = _runtime(request)
    actor = _actor(principal)
    with logging_refusals(runtime, actor, "set_phase", case_id), runtime.db.session() as session:
        case = brokering_services(runtime).cases.set_phase(session, actor, case_id, body.phase)
        runtime.audit.append_in(session, [_case_event(runtime, actor, case, "phase_changed")])
    return CaseOut.of(case)


@router.post("/{case_id}/close", response_model=CaseOut)
def close_case(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> CaseOut:
    runtime = _runtime(request)
    actor = _actor(principal)
    with logging_refusals(runtime, actor, "close", case_id), runtime.db.session() as session:
        case = brokering_services(runtime).cases.close(session, actor, case_id)
        runtime.audit.append_in(session, [_case_event(runtime, actor, case, "closed")])
    return CaseOut.of(case)


@router.post("/{case_id}/queries", response_model=QueryOut, response_model_exclude_unset=True)
async def query_case(
    case_id: CaseId,
    body: QueryIn,
    request: Request,
    principal: Annotated[Principal, Depends(query_principal)],
) -> dict[str, Any]:
    runtime = _runtime(request)
    actor = _actor(principal)
    async with logging_refusals_async(runtime, actor, "query", case_id):
        motivation = body.motivation
        scope = QueryScope(
            subject=body.subject,
            motivation=Motivation(motivation.code, motivation.text) if motivation else None,
        )
        outcome = await brokering_services(runtime).broker.query(
            actor, case_id, body.categories, body.sources, scope
        )
    return {
        "query_id": outcome.query_id,
        "case": case_id,
        "purpose": principal.purpose,
        "results": [result.as_json() for result in outcome.results],
        "trace_id": outcome.trace_id,
    }
