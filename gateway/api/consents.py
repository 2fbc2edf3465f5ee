"""OvJ consent (API.md §4): list, decide, revoke — role ``om`` only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from gateway.api.models import Id, StrictBody, Text
from gateway.audit.events import AuditEvent
from gateway.auth.dependencies import require_role
from gateway.auth.principal import Principal
from gateway.brokering.services import brokering_services
from gateway.cases.models import Case
from gateway.consent.service import ConsentView, OmActor
from gateway.runtime import Runtime

router = APIRouter(prefix="/v1/consents", tags=["consent"])
ConsentId = Annotated[str, Field(pattern=r"^oc-[0-9a-f]{20}$")]
OmPrincipal = Annotated[Principal, Depends(require_role("om"))]


class DecisionIn(StrictBody):
    decision: Literal["granted", "refused"]
    reason: Text = Field(min_length=1)
    valid_until: date | None = None
    categories: list[Id] | None = Field(default=None, max_length=50)
    recipients: list[Id] | None = Field(default=None, max_length=50)
    withheld_until: date | None = None


class RevokeIn(StrictBody):
    reason: Text = Field(min_length=1)


def _om(principal: Principal) -> OmActor:
    return OmActor(principal.party, principal.employee, principal.covenant)


def _today() -> date:
    return datetime.now(UTC).date()


def _consent_event(
    runtime: Runtime, session: Any, actor: OmActor, view: ConsentView, outcome: str
) -> AuditEvent:
    case = session.get(Case, view.case)
    return AuditEvent(
        kind="consent",
        outcome=outcome,
        reason=view.reason,
        party=actor.party,
        employee=actor.employee,
        convenant=view.convenant,
        purpose=view.purpose,
        case=view.case,
        consent_id=view.id,
        subject_pseudonym=case.subject_pseudonym if case is not None else None,
        covenant_version=runtime.policy.current.covenant_version(view.convenant),
        details={
            "recipient": view.recipient,
            "categories": ",".join(view.granted_categories or view.categories),
            "valid_until": view.valid_until.isoformat() if view.valid_until else None,
        },
    )


@router.get("")
def list_consents(
    request: Request,
    principal: OmPrincipal,
    status: Annotated[
        Literal["pending", "granted", "refused", "revoked", "expired"] | None, Query()
    ] = None,
) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    with runtime.db.session() as session:
        views = brokering_services(runtime).consents.find(session, _om(principal), status)
    today = _today()
    return {"consents": [view.as_json(today) for view in views]}


@router.get("/{consent_id}")
def get_consent(consent_id: ConsentId, request: Request, principal: OmPrincipal) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    with runtime.db.session() as session:
        view = brokering_services(runtime).consents.get(session, _om(principal), consent_id)
    return view.as_json(_today())


@router.post("/{consent_id}/decision")
def decide_consent(
    consent_id: ConsentId, body: DecisionIn, request: Request, principal: OmPrincipal
) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    actor = _om(principal)
    with runtime.db.session() as session:
        view = brokering_services(runtime).consents.decide(
            session,
            actor,
            consent_id,
            decision=body.decision,
            reason=body.reason,
            valid_until=body.valid_until,
            categories=body.categories,
            recipients=body.recipients,
            withheld_until=body.withheld_until,
        )
        runtime.audit.append_in(
            session, [_consent_event(runtime, session, actor, view, body.decision)]
        )
    return view.as_json(_today())


@router.post("/{consent_id}/revoke")
def revoke_consent(
    consent_id: ConsentId, body: RevokeIn, request: Request, principal: OmPrincipal
) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    actor = _om(principal)
    with runtime.db.session() as session:
        view = brokering_services(runtime).consents.revoke(session, actor, consent_id, body.reason)
        runtime.audit.append_in(session, [_consent_event(runtime, session, actor, view, "revoked")])
    return view.as_json(_today())
