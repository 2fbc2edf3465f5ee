"""Rights of the person concerned (API.md §6): thin handlers over the rights desk.

Two kinds of caller. A partner system authenticates as everywhere else (a
bearer access token plus ``X-Ketenpoort-Employee``). The person concerned
authenticates with the portal's session cookie, obtained by logging in to
/mijn through OIDC (DigiD in production); the ``bsn`` claim of that login is
who they are. A cookie-authenticated POST must also send the session's CSRF
token in ``X-Ketenpoort-CSRF`` (see docs/rights.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, Field, JsonValue, StringConstraints

from gateway.api.models import Id, RecordId, StrictBody, SubjectIn, Text
from gateway.api.openapi import PartnerRoute
from gateway.api.schemas.rights import (
    DisclosuresOut,
    NoticeOut,
    RightsRequestListOut,
    RightsRequestOut,
    WithholdingOut,
)
from gateway.auth.dependencies import current_principal, require_role
from gateway.auth.portal import CSRF_KEY, person_of, representative_of
from gateway.auth.principal import Principal
from gateway.problems import Forbidden, Unauthorized, Unprocessable
from gateway.rights.notices import NoticeStatement
from gateway.rights.service import Application, Filer, Viewer
from gateway.subjects.bsn import Bsn, InvalidBsnError
from gateway.wiring import runtime_of

router = APIRouter(tags=["rights"], route_class=PartnerRoute)
RequestId = Annotated[str, Field(pattern=r"^rr-[0-9a-f]{20}$")]
CaseId = Annotated[str, StringConstraints(pattern=r"^c-[0-9a-z]{20}$")]
CSRF_HEADER = "X-Ketenpoort-CSRF"


class RightsRequestIn(StrictBody):
    type: Literal["inzage", "correctie", "verzet"]
    subject: SubjectIn | None = None
    details: Text = Field(min_length=1)
    cases: list[CaseId] = Field(default_factory=list, max_length=50)
    records: list[RecordId] = Field(default_factory=list, max_length=200)
    source: Id | None = None


class RightsDecisionIn(StrictBody):
    decision: Literal["granted", "partially_granted", "refused"]
    reason: Text = Field(min_length=1)


@dataclass(frozen=True)
class Caller:
    """Exactly one of: a partner principal, or the person (their BSN from the portal login)."""

    principal: Principal | None
    person: Bsn | None
    representative: str | None = None

    def viewer(self, pseudonym: str | None) -> Viewer:
        if self.principal is None:
            return Viewer(pseudonym=pseudonym, representative=self.representative)
        return _actor(self.principal)


def _actor(principal: Principal) -> Viewer:
    """A partner principal as the rights desk sees it (party, employee, covenant, roles)."""
    return Viewer(
        party=principal.party,
        employee=principal.employee,
        covenant=principal.covenant,
        roles=principal.roles,
    )


async def caller(request: Request) -> Caller:
    if request.headers.get("Authorization"):
        return Caller(await current_principal(request), None)
    person = person_of(request)
    if person is None:
        raise Unauthorized(
            detail="a partner access token or a portal login of the person is required",
            headers={"WWW-Authenticate": 'Bearer realm="ketenpoort"'},
        )
    return Caller(None, person, representative_of(request))


SUBJECT_REQUIRED = "A partner files on behalf of a person: subject is required."
INVALID_BSN = "subject.bsn is not a valid BSN (11-proof)."
CSRF_MISSING = f"a portal POST needs the session's {CSRF_HEADER} header"
NOT_SELF = "A person files only for themself."


def _csrf_ok(request: Request) -> bool:
    expected = request.session.get(CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER, "")
    return isinstance(expected, str) and secrets.compare_digest(expected.encode(), sent.encode())


def _bsn(text: str) -> Bsn | None:
    try:
        return Bsn(text)
    except InvalidBsnError:
        return None


@router.post("/v1/rights-requests", status_code=201, response_model=RightsRequestOut)
async def file_request(
    body: RightsRequestIn, request: Request, who: Annotated[Caller, Depends(caller)]
) -> RightsRequestOut:
    desk = runtime_of(request).rights_desk
    if who.principal is not None:
        p = who.principal
        filer = Filer(party=p.party, employee=p.employee, covenant=p.covenant)
        if body.subject is None:
            await desk.refuse(filer, "subject_missing", Unprocessable(detail=SUBJECT_REQUIRED))
        bsn = _bsn(body.subject.bsn)
        if bsn is None:
            await desk.refuse(filer, "invalid_bsn", Unprocessable(detail=INVALID_BSN))
    else:
        assert who.person is not None
        filer = Filer(representative=who.representative)
        if not _csrf_ok(request):
            await desk.refuse(filer, "csrf", Forbidden(detail=CSRF_MISSING))
        bsn = who.person
        if body.subject is not None and _bsn(body.subject.bsn) != bsn:
            await desk.refuse(filer, "not_self", Forbidden(detail=NOT_SELF))
    application = Application(
        type=body.type,
        bsn=bsn,
        details=body.details,
        cases=tuple(body.cases),
        records=tuple(body.records),
        source=body.source,
    )
    view = await desk.file(filer, application)
    return RightsRequestOut.of(view, datetime.now(UTC))


@router.get("/v1/rights-requests", response_model=RightsRequestListOut)
def list_requests(
    request: Request,
    principal: Annotated[Principal, Depends(require_role("privacy_officer"))],
    overdue: Annotated[bool, Query()] = False,
    due_within_days: Annotated[int | None, Query(ge=0, le=366)] = None,
) -> RightsRequestListOut:
    """Undecided requests of the officer's covenant; ``overdue=true`` only those past due."""
    now = datetime.now(UTC)
    due_before = None
    if overdue:
        due_before = now
    elif due_within_days is not None:
        due_before = now + timedelta(days=due_within_days)
    views = runtime_of(request).rights_desk.open_requests(principal.covenant, due_before)
    return RightsRequestListOut(requests=[RightsRequestOut.of(view, now) for view in views])


@router.get("/v1/rights-requests/{request_id}", response_model=RightsRequestOut)
def get_request(
    request_id: RequestId, request: Request, who: Annotated[Caller, Depends(caller)]
) -> RightsRequestOut:
    desk = runtime_of(request).rights_desk
    pseudonym = desk.service.pseudonym(who.person) if who.person is not None else None
    view = desk.get(who.viewer(pseudonym), request_id)
    return RightsRequestOut.of(view, datetime.now(UTC))


@router.post("/v1/rights-requests/{request_id}/decision", response_model=RightsRequestOut)
def decide_request(
    request_id: RequestId,
    body: RightsDecisionIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> RightsRequestOut:
    view = runtime_of(request).rights_desk.decide(
        _actor(principal), request_id, body.decision, body.reason
    )
    return RightsRequestOut.of(view, datetime.now(UTC))


class ExtendIn(StrictBody):
    until: date
    reason: Text = Field(min_length=1)


class RecordIn(StrictBody):
    id: RecordId
    category: Id
    updated: AwareDatetime
    fields: dict[str, JsonValue]


class AnswerIn(StrictBody):
    records: list[RecordIn] = Field(max_length=10_000)


@router.post("/v1/rights-requests/{request_id}/extend", response_model=RightsRequestOut)
def extend_request(
    request_id: RequestId,
    body: ExtendIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> RightsRequestOut:
    """AVG art. 12(3): once, within the first term, at most two months, with a reason."""
    desk = runtime_of(request).rights_desk
    view = desk.extend(_actor(principal), request_id, body.until, body.reason)
    return RightsRequestOut.of(view, datetime.now(UTC))


@router.post("/v1/rights-requests/{request_id}/withdraw", response_model=RightsRequestOut)
async def withdraw_request(
    request_id: RequestId, request: Request, who: Annotated[Caller, Depends(caller)]
) -> RightsRequestOut:
    """By the person or their representative only (a partner's token: 403)."""
    if who.person is None:
        raise Forbidden(detail="Only the person concerned or their representative withdraws.")
    if not _csrf_ok(request):
        raise Forbidden(detail=CSRF_MISSING)
    desk = runtime_of(request).rights_desk
    viewer = who.viewer(desk.service.pseudonym(who.person))
    view = desk.withdraw(viewer, request_id)
    return RightsRequestOut.of(view, datetime.now(UTC))


@router.post("/v1/rights-requests/{request_id}/answer", response_model=RightsRequestOut)
def answer_request(
    request_id: RequestId,
    body: AnswerIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> RightsRequestOut:
    """A joint controller sends the records it holds about the person (an inzage it took)."""
    records = [item.model_dump(mode="json") for item in body.records]
    view = runtime_of(request).rights_desk.answer(_actor(principal), request_id, records)
    return RightsRequestOut.of(view, datetime.now(UTC))


@router.post("/v1/rights-requests/{request_id}/executed", response_model=RightsRequestOut)
def execute_request(
    request_id: RequestId,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> RightsRequestOut:
    """The source reports a granted correctie carried out."""
    view = runtime_of(request).rights_desk.executed(_actor(principal), request_id)
    return RightsRequestOut.of(view, datetime.now(UTC))


class WithholdingIn(StrictBody):
    case: CaseId
    category: Id
    ground: Literal["bescherming_slachtoffer", "bescherming_melder", "lopend_onderzoek"]
    until: date
    # Which person of the case (a household member's disclosures are logged under her own).
    subject: Annotated[str, StringConstraints(pattern=r"^s[1-9][0-9]{0,2}$")] = "s1"


@router.post("/v1/withholdings", status_code=201, response_model=WithholdingOut)
def withhold(
    body: WithholdingIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> WithholdingOut:
    """The source party of a disclosure withholds it from the person's inzage until a date."""
    row = runtime_of(request).rights_desk.withhold(
        _actor(principal), body.case, body.category, body.ground, body.until, body.subject
    )
    return WithholdingOut(
        id=row.id,
        case=row.case_id,
        subject=body.subject,
        category=row.category,
        ground=row.ground,
        until=row.until.isoformat(),
        source=row.source,
    )


class NoticeIn(StrictBody):
    subject: Annotated[str, StringConstraints(pattern=r"^s[0-9]{1,3}$")]
    informed: bool
    how: Literal["mondeling", "brief", "email", "folder", "portaal"] | None = None
    at: date | None = None
    ground: (
        Literal[
            "onevenredige_inspanning", "wettelijke_geheimhouding", "uavg_41", "reeds_geinformeerd"
        ]
        | None
    ) = None
    review_on: date | None = None


@router.post("/v1/cases/{case_id}/notices", status_code=201, response_model=NoticeOut)
def record_notice(
    case_id: CaseId,
    body: NoticeIn,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> NoticeOut:
    """Informatieplicht (AVG art. 13/14): informed (how, at) or not (ground, review_on)."""
    statement = NoticeStatement(
        subject=body.subject,
        informed=body.informed,
        how=body.how,
        at=body.at,
        ground=body.ground,
        review_on=body.review_on,
    )
    row = runtime_of(request).rights_desk.notice(_actor(principal), case_id, statement)
    return NoticeOut(
        id=row.id,
        case=row.case_id,
        subject=row.subject_ref,
        informed=row.informed,
        how=row.how,
        at=row.informed_on.isoformat() if row.informed_on else None,
        ground=row.ground,
        review_on=row.review_on.isoformat() if row.review_on else None,
        by=row.by_party,
    )


# 422 as before (FastAPI listed it for the employee header parameter of the documentation).
@router.get(
    "/v1/me/disclosures",
    response_model=DisclosuresOut,
    response_model_exclude_unset=True,
    responses={422: {"description": "Invalid request (problem details)"}},
)
def my_disclosures(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    before: Annotated[
        str | None,
        # ASCII digits only, as the audit API's numbers: int() would also take " 5" or "1_0".
        Query(pattern=r"^[1-9][0-9]{0,17}$", description="next_before of the last answer"),
    ] = None,
) -> dict[str, Any]:
    """The person's inzage; ``summary`` accounts for every disclosure, ``before`` pages the rest."""
    if who.person is None:
        raise Forbidden(detail="Only the person concerned sees their own disclosures.")
    desk = runtime_of(request).rights_desk
    if not desk.representative_may(who.person, who.representative, "inzage"):
        raise Forbidden(detail="The covenant does not let this representative see the inzage.")
    found = desk.inzage(
        who.person,
        "api",
        representative=who.representative,
        before=int(before) if before is not None else None,
    )
    return found.as_json()
