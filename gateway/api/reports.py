"""``/v1/reports/{kind}`` and ``/v1/register``: figures and the art. 30 register (docs/reports.md).

Thin: the reports desk checks the role (``stuurgroep`` or ``privacy_officer``
of the token's covenant), computes, protects small counts and logs the read in
one transaction. A ``convenant`` other than the token's is refused like a
missing role (a token is bound to one covenant). Dates are ISO dates within a
bounded range; anything else is a 422, an unknown kind a 404, all problem+json.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from gateway.api.models import Id
from gateway.api.openapi import PartnerRoute
from gateway.api.schemas.reports import RegisterOut, ReportOut
from gateway.audit.officer import Reader
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.problems import Forbidden, NotFound, Unprocessable
from gateway.reports.desk import READER_ROLES, ReportDesk, ReportRefused, UnknownReport
from gateway.reports.model import REPORT_KINDS
from gateway.reports.period import BadPeriod, Period
from gateway.wiring import runtime_of

router = APIRouter(tags=["reports"], route_class=PartnerRoute)
DETAIL = "this needs the role stuurgroep or privacy_officer in the token's covenant"


def _desk(request: Request) -> ReportDesk:
    return runtime_of(request).report_desk


def _reader(principal: Principal) -> Reader:
    return Reader(principal.party, principal.employee, (principal.covenant,), "api")


def _allowed(request: Request, principal: Principal, convenant: str, action: str) -> Reader:
    """The reader, or a logged 403 (role missing in the token or the policy, other covenant)."""
    reader = _reader(principal)
    desk = _desk(request)
    if convenant != principal.covenant or not principal.has_role(*READER_ROLES):
        desk.log_refusal(reader, action, "role_missing")
        raise Forbidden(detail=DETAIL, extensions={"reason": "role_missing"})
    return reader


def _period(first: date | None, last: date | None) -> Period:
    year = datetime.now(UTC).year
    try:
        return Period.of(first or date(year, 1, 1), last or date(year, 12, 31))
    except BadPeriod as error:
        raise Unprocessable(detail=str(error)) from None


@router.get("/v1/reports/{kind}", response_model=ReportOut, responses={403: {}, 404: {}, 422: {}})
async def get_report(
    kind: str,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    convenant: Annotated[Id | None, Query()] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """A covenant's figures for a period; every count under the threshold is ``"< 5"``."""
    if kind not in REPORT_KINDS:
        raise NotFound(detail=f"report kind must be one of: {', '.join(REPORT_KINDS)}")
    period = _period(date_from, date_to)
    return await run_in_threadpool(
        _report, request, principal, kind, convenant or principal.covenant, period
    )


def _report(
    request: Request, principal: Principal, kind: str, convenant: str, period: Period
) -> dict[str, Any]:
    reader = _allowed(request, principal, convenant, f"report_{kind}")
    try:
        return _desk(request).report(reader, kind, convenant, period).as_json()
    except ReportRefused:
        raise Forbidden(detail=DETAIL, extensions={"reason": "role_missing"}) from None
    except UnknownReport:
        raise NotFound(detail="no such covenant") from None


@router.get("/v1/register", response_model=RegisterOut, responses={403: {}, 404: {}})
async def get_register(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    convenant: Annotated[Id | None, Query()] = None,
) -> dict[str, Any]:
    """The AVG art. 30 register of the covenant, one activity per purpose (stable URIs)."""
    return await run_in_threadpool(_register, request, principal, convenant or principal.covenant)


def _register(request: Request, principal: Principal, convenant: str) -> dict[str, Any]:
    reader = _allowed(request, principal, convenant, "register")
    try:
        return _desk(request).register(reader, convenant).as_json()
    except ReportRefused:
        raise Forbidden(detail=DETAIL, extensions={"reason": "role_missing"}) from None
    except UnknownReport:
        raise NotFound(detail="no such covenant") from None
