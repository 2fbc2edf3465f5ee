"""``GET /v1/cases``: the privacy officer's list of the covenant's cases, metadata only.

Role ``privacy_officer`` of the token's covenant (promise 11); every list and
every refusal is logged (kind ``audit``, action ``cases``). Filters are ids
and ISO dates, bounded; no personal data is returned (gateway/reports/oversight.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from gateway.api.models import Id
from gateway.api.openapi import PartnerRoute
from gateway.api.schemas.reports import CaseListOut
from gateway.auth.dependencies import current_principal
from gateway.auth.principal import Principal
from gateway.problems import Forbidden, Unprocessable
from gateway.reports.oversight import CaseFilter, NotOfficer
from gateway.reports.period import EARLIEST, LATEST
from gateway.wiring import runtime_of

router = APIRouter(prefix="/v1/cases", tags=["cases"], route_class=PartnerRoute)
DETAIL = "this needs the role privacy_officer in the token's covenant"


def _moment(value: date | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not EARLIEST <= value <= LATEST:
        raise Unprocessable(detail=f"{name} must lie between {EARLIEST} and {LATEST}")
    return datetime.combine(value, time.min, tzinfo=UTC)


@router.get("", response_model=CaseListOut, responses={403: {}, 422: {}})
async def list_cases(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    phase: Annotated[Id | None, Query()] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    case_type: Annotated[Id | None, Query()] = None,
    municipality: Annotated[str | None, Query(pattern=r"^GM[0-9]{4}$")] = None,
    referrer: Annotated[Id | None, Query()] = None,
    opened_from: Annotated[date | None, Query(alias="from")] = None,
    opened_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The covenant's cases without personal data, newest first (FG only; the read is logged)."""
    filters = CaseFilter(
        phase=phase,
        status=status,
        case_type=case_type,
        municipality=municipality,
        referrer=referrer,
        opened_from=_moment(opened_from, "from"),
        opened_to=_moment(opened_to, "to"),
        limit=limit,
    )
    return await run_in_threadpool(_list, request, principal, filters)


def _list(request: Request, principal: Principal, filters: CaseFilter) -> dict[str, Any]:
    desk = runtime_of(request).oversight_desk
    try:
        reader = desk.officer(principal.party, principal.employee, principal.covenant, "api")
        if not principal.has_role("privacy_officer"):
            raise NotOfficer("privacy_officer")
    except NotOfficer:
        raise Forbidden(detail=DETAIL, extensions={"reason": "role_missing"}) from None
    return {"cases": desk.cases(reader, filters)}
