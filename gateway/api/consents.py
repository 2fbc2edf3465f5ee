"""OvJ consent (API.md §4): list, decide, revoke — the competent authority only.

The OvJ (role ``om``) and any authority a category's ``agreement_required_from``
names (e.g. ``burgemeester``) come in; a grant names only categories its
decider is competent for.

Thin: the desk (gateway/consent/desk.py) changes the register and writes the
audit entry in one transaction, the same path the /ovj page takes. The role
gate runs first (before the id or body are even validated) and asks the desk,
so a refused non-OM caller gets 403 ``not-om`` and leaves an audit entry with
reason ``not_om``; the desk checks the request's own covenant again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StrictInt

from gateway.api.models import Id, StrictBody, Text
from gateway.api.openapi import PartnerRoute
from gateway.api.schemas.consents import ConsentListOut, ConsentOut
from gateway.audit.officer import PRIVACY_OFFICER, officer_covenants
from gateway.auth.dependencies import current_principal, refuse
from gateway.auth.principal import Principal
from gateway.consent.desk import ConsentDesk
from gateway.consent.service import NotOm, OmActor
from gateway.wiring import runtime_of

router = APIRouter(prefix="/v1/consents", tags=["consent"], route_class=PartnerRoute)
CONSENT_ID = r"^oc-[0-9a-f]{20}$"
ConsentId = Annotated[str, Field(pattern=CONSENT_ID)]


class ConsentDecisionIn(StrictBody):
    decision: Literal["granted", "refused"]
    reason: Text = Field(min_length=1)
    valid_until: date | None = None
    # Required for a grant (422 consent-categories-required without it): a grant covers
    # only what it names, never categories added to the request after review.
    categories: list[Id] | None = Field(default=None, max_length=50)
    recipients: list[Id] | None = Field(default=None, max_length=50)
    withheld_until: date | None = None
    # The request's ``version`` the OvJ reviewed; 409 consent-request-changed if it moved on.
    version: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
    # Proportionality: a grant may cover only some of the sources that would answer, and
    # only some fields of a category (minimisation applies the granted fields).
    sources: list[Id] | None = Field(default=None, max_length=50)
    fields: dict[Id, list[Id]] | None = Field(default=None, max_length=50)


class RevokeIn(StrictBody):
    reason: Text = Field(min_length=1)


def _om(principal: Principal) -> OmActor:
    return OmActor(principal.party, principal.employee, principal.covenant)


def om_for(action: str) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """The caller, if its party is the covenant's OM; else an audited 403.

    A token that carried ``om`` which the covenant in force no longer grants is
    refused at the door as ``role_revoked`` (the caller must fetch a new token);
    any other non-OM caller gets ``not-om``.
    """

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        if "om" in principal.revoked_roles:
            raise await refuse(request, principal, "role_revoked", "the om role was withdrawn")
        return await run_in_threadpool(_check_om, request, principal, action)

    return dependency


def _check_om(request: Request, principal: Principal, action: str) -> Principal:
    desk = _desk(request)
    actor = _om(principal)
    if not desk.is_om(actor):
        raw = request.path_params.get("consent_id")
        known = raw if isinstance(raw, str) and re.fullmatch(CONSENT_ID, raw) else None
        desk.log_refusal(actor, action, known)
        raise NotOm()
    return principal


def _today() -> date:
    return datetime.now(UTC).date()


def _desk(request: Request) -> ConsentDesk:
    return runtime_of(request).consent_desk


def _officer(request: Request, principal: Principal) -> bool:
    """Whether the caller is privacy officer (FG) of its token's covenant in the policy in force."""
    policy = request.app.state.runtime.policy.current
    return principal.has_role(PRIVACY_OFFICER) and principal.covenant in officer_covenants(
        policy, principal.party
    )


async def om_or_officer(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    """The FG reads the whole covenant's register (docs/reports.md); anyone else as ``om_for``."""
    if _officer(request, principal):
        return principal
    return await om_for("list")(request, principal)


@router.get("", response_model=ConsentListOut)
def list_consents(
    request: Request,
    principal: Annotated[Principal, Depends(om_or_officer)],
    status: Annotated[
        Literal["pending", "granted", "refused", "revoked", "expired"] | None, Query()
    ] = None,
) -> ConsentListOut:
    today = _today()
    if _officer(request, principal) and not _desk(request).is_om(_om(principal)):
        desk = runtime_of(request).oversight_desk
        reader = desk.officer(principal.party, principal.employee, principal.covenant, "api")
        views = desk.consents(reader, status)
    else:
        views = _desk(request).find(_om(principal), status)
    return ConsentListOut(consents=[ConsentOut.of(view, today) for view in views])


@router.get("/{consent_id}", response_model=ConsentOut)
def get_consent(
    consent_id: ConsentId,
    request: Request,
    principal: Annotated[Principal, Depends(om_for("read"))],
) -> ConsentOut:
    return ConsentOut.of(_desk(request).get(_om(principal), consent_id), _today())


@router.post("/{consent_id}/decision", response_model=ConsentOut)
def decide_consent(
    consent_id: ConsentId,
    body: ConsentDecisionIn,
    request: Request,
    principal: Annotated[Principal, Depends(om_for("decide"))],
) -> ConsentOut:
    view = _desk(request).decide(
        _om(principal),
        consent_id,
        decision=body.decision,
        reason=body.reason,
        valid_until=body.valid_until,
        categories=body.categories,
        recipients=body.recipients,
        withheld_until=body.withheld_until,
        version=body.version,
        sources=body.sources,
        fields=body.fields,
    )
    return ConsentOut.of(view, _today())


@router.post("/{consent_id}/revoke", response_model=ConsentOut)
def revoke_consent(
    consent_id: ConsentId,
    body: RevokeIn,
    request: Request,
    principal: Annotated[Principal, Depends(om_for("revoke"))],
) -> ConsentOut:
    view = _desk(request).revoke(_om(principal), consent_id, body.reason)
    return ConsentOut.of(view, _today())
