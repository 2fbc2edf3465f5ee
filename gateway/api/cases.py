"""Cases and queries (API.md §2–3): HTTP <-> the case desk and the broker.

No transaction and no audit entry is made here: the case desk
(``gateway/cases/desk.py``) changes the case and writes its entries in one
commit, and logs refused calls.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, StrictInt, field_validator

from gateway.api.models import Id, StrictBody, SubjectIn, Text
from gateway.api.openapi import PartnerRoute
from gateway.api.refusals import logging_refusals_async
from gateway.api.schemas.cases import CaseOut, QueryOut, ReferralOut, SubjectAddedOut
from gateway.auth.dependencies import current_principal, query_principal
from gateway.auth.principal import Principal
from gateway.cases.desk import CaseDesk
from gateway.cases.household import NewSubject
from gateway.cases.service import Actor, Opening, ReferralView
from gateway.cases.workflow import CaseAttributes, TriageOutcome
from gateway.consent.service import Motivation
from gateway.policy.models import MAIN_SUBJECT_ROLE, Phase
from gateway.problems import Unprocessable
from gateway.subjects.bsn import Bsn, InvalidBsnError
from gateway.wiring import runtime_of

router = APIRouter(prefix="/v1/cases", tags=["cases"], route_class=PartnerRoute)
CaseId = Annotated[str, Field(pattern=r"^c-[0-9a-z]{20}$")]
SubjectRefId = Annotated[str, Field(pattern=r"^s[1-9][0-9]{0,2}$")]
Municipality = Annotated[str, Field(pattern=r"^GM[0-9]{4}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]


class HouseholdSubjectIn(SubjectIn):
    role: Id
    birth_year: StrictInt | None = Field(default=None, ge=1900, le=2100)


def _not_null(value: object) -> object:
    """An optional field may be left out, not sent as null (a null is a client bug)."""
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


class CaseIn(StrictBody):
    convenant: Id
    purpose: Id
    subject: SubjectIn | None = None
    subjects: list[HouseholdSubjectIn] | None = Field(default=None, min_length=1, max_length=20)
    participants: list[Id] = Field(default_factory=list, max_length=100)
    phase: Phase | None = None
    case_type: Id | None = None
    municipality: Municipality | None = None
    region: Id | None = None

    _present = field_validator(
        "subject", "subjects", "phase", "case_type", "municipality", "region", mode="before"
    )(_not_null)


class ParticipantIn(StrictBody):
    party: Id


class CasePatchIn(StrictBody):
    phase: Phase | None = None
    reason: Reason | None = None
    case_type: Id | None = None
    municipality: Municipality | None = None
    region: Id | None = None

    _present = field_validator(
        "phase", "reason", "case_type", "municipality", "region", mode="before"
    )(_not_null)


class TriageIn(StrictBody):
    outcome: TriageOutcome
    reason: Reason
    referred_to: Reason | None = None


class CloseIn(StrictBody):
    reason: Id | None = None
    note: Text | None = None


class MotivationIn(StrictBody):
    code: Id
    text: Text = Field(min_length=1, max_length=2000)


class QueryIn(StrictBody):
    categories: list[Id] = Field(min_length=1, max_length=50)
    sources: list[Id] | None = Field(default=None, max_length=50)
    subject: SubjectRefId | None = None
    # Why the requester needs criminal data: required when a category is strafrechtelijk.
    motivation: MotivationIn | None = None


def _actor(principal: Principal) -> Actor:
    return Actor(principal.party, principal.employee, principal.covenant, principal.purpose)


def _desk(request: Request) -> CaseDesk:
    return runtime_of(request).case_desk


def _bsn(digits: str, where: str) -> Bsn:
    try:
        return Bsn(digits)
    except InvalidBsnError:
        raise Unprocessable(detail=f"{where} is not a valid BSN (11-proof).") from None


def _subjects(body: CaseIn) -> list[NewSubject]:
    """``subject`` (one hoofdpersoon, as before households) or ``subjects``; not both."""
    if (body.subject is None) == (body.subjects is None):
        raise Unprocessable(detail="Name either subject or subjects.")
    if body.subject is not None:
        return [NewSubject(_bsn(body.subject.bsn, "subject.bsn"), MAIN_SUBJECT_ROLE)]
    assert body.subjects is not None
    return [
        NewSubject(_bsn(s.bsn, f"subjects[{i}].bsn"), s.role, s.birth_year)
        for i, s in enumerate(body.subjects)
    ]


@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={201: {"model": CaseOut, "description": "The case, or for a referrer its status."}},
)
def open_case(
    body: CaseIn, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> CaseOut | ReferralOut:
    """A referrer that is no participant gets only ``id``, ``status`` and ``referrer`` back."""
    opening = Opening(
        convenant=body.convenant,
        purpose=body.purpose,
        subjects=_subjects(body),
        participants=body.participants,
        phase=body.phase,
        attributes=CaseAttributes(body.case_type, body.municipality, body.region),
    )
    opened = _desk(request).open(_actor(principal), opening)
    if isinstance(opened, ReferralView):
        return ReferralOut.of_referral(opened)
    return CaseOut.of(opened)


@router.get(
    "/{case_id}",
    response_model=None,
    responses={200: {"model": CaseOut, "description": "The case, or for its referrer the status."}},
)
def get_case(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> CaseOut | ReferralOut:
    """A participant gets the whole case (as ``POST /v1/cases`` answers); the referrer only
    ``id``, ``status``, ``referrer`` and ``triage_outcome`` (:class:`ReferralOut`)."""
    found = _desk(request).get(_actor(principal), case_id)
    if isinstance(found, ReferralView):
        return ReferralOut.of_referral(found)
    return CaseOut.of(found)


@router.post("/{case_id}/participants", response_model=CaseOut)
def add_participant(
    case_id: CaseId,
    body: ParticipantIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> CaseOut:
    return CaseOut.of(_desk(request).add_participant(_actor(principal), case_id, body.party))


@router.post("/{case_id}/subjects", status_code=201, response_model=SubjectAddedOut)
def add_subject(
    case_id: CaseId,
    body: HouseholdSubjectIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> SubjectAddedOut:
    subject = NewSubject(_bsn(body.bsn, "bsn"), body.role, body.birth_year)
    case, ref = _desk(request).add_subject(_actor(principal), case_id, subject)
    out = CaseOut.of(case)
    added = next(s for s in out.subjects if s.ref == ref)
    return SubjectAddedOut(**out.model_dump(), added=added)


@router.patch("/{case_id}", response_model=CaseOut)
def change_case(
    case_id: CaseId,
    body: CasePatchIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> CaseOut:
    attributes = CaseAttributes(body.case_type, body.municipality, body.region)
    if body.phase is None and not attributes.any():
        raise Unprocessable(detail="Name a phase or a case attribute to change.")
    case = _desk(request).change(
        _actor(principal), case_id, phase=body.phase, reason=body.reason, attributes=attributes
    )
    return CaseOut.of(case)


@router.post("/{case_id}/triage", response_model=CaseOut)
def triage_case(
    case_id: CaseId,
    body: TriageIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> CaseOut:
    case = _desk(request).triage(
        _actor(principal),
        case_id,
        outcome=body.outcome,
        reason=body.reason,
        referred_to=body.referred_to,
    )
    return CaseOut.of(case)


@router.post("/{case_id}/close", response_model=CaseOut)
def close_case(
    case_id: CaseId,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    body: CloseIn | None = None,
) -> CaseOut:
    closing = body or CloseIn()
    case = _desk(request).close(
        _actor(principal), case_id, reason=closing.reason, note=closing.note
    )
    return CaseOut.of(case)


@router.post("/{case_id}/queries", response_model=QueryOut, response_model_exclude_unset=True)
async def query_case(
    case_id: CaseId,
    body: QueryIn,
    request: Request,
    principal: Annotated[Principal, Depends(query_principal)],
) -> dict[str, Any]:
    runtime = runtime_of(request)
    actor = _actor(principal)
    async with logging_refusals_async(runtime, actor, "query", case_id):
        given = body.motivation
        motivation = Motivation(given.code, given.text) if given is not None else None
        outcome = await runtime.brokering.broker.query(
            actor,
            case_id,
            body.categories,
            body.sources,
            subject=body.subject,
            motivation=motivation,
        )
    return {
        "query_id": outcome.query_id,
        "case": case_id,
        "purpose": principal.purpose,
        "subject": {"ref": outcome.subject_ref, "role": outcome.subject_role},
        "results": [result.as_json() for result in outcome.results],
        "trace_id": outcome.trace_id,
    }
