"""/ovj: pending consent requests, their detail, and the OvJ's grant, refusal or revocation.

Every route needs a human login with role ``om`` and a party that holds
role ``om`` in the request's covenant; the employee id recorded is the login's
``sub``. Decisions go through the same desk as the API, so the register and
the audit log cannot tell the two doors apart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from gateway.consent.desk import ConsentDesk
from gateway.consent.service import (
    OM_ROLE,
    AlreadyDecided,
    BadValidity,
    BadWithholding,
    CategoriesRequired,
    NotCompetent,
    NotNarrower,
    NotOm,
    NotRevocable,
    OmActor,
    RequestChanged,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import NotFound, Problem
from gateway.web.ovj.forms import DecisionForm, parse_decision, reason_error
from gateway.web.ovj.presenting import (
    ConsentPage,
    consent_page,
    latest_valid_until,
    latest_withheld_until,
)
from gateway.web.session import RoleMissing, WebUser, require_login, verify_csrf
from gateway.web.templating import render
from gateway.wiring import runtime_of


def _decider(request: Request) -> WebUser:
    """A logged-in user holding a role that may decide consents in some loaded covenant.

    The OvJ (``om``) and every authority a category's ``agreement_required_from``
    names (e.g. ``burgemeester``); the desk checks the party per request again.
    """
    policy: CompiledPolicy = request.app.state.runtime.policy.current
    roles = {OM_ROLE}
    for compiled in policy.covenants.values():
        roles |= compiled.consent_deciders()
    user = require_login(request)
    if not any(user.has_role(role) for role in sorted(roles)):
        raise RoleMissing(OM_ROLE)
    return user


OmUser = Annotated[WebUser, Depends(_decider)]
ConsentId = Annotated[str, Path(pattern=r"^oc-[0-9a-f]{20}$")]
NOT_OM = (
    "Uw organisatie is in dit convenant geen bevoegd gezag voor toestemming "
    "(Openbaar Ministerie of een ander bevoegd gezag, zoals de burgemeester)."
)
FIELD_OF_PROBLEM: dict[type[Problem], tuple[str, str]] = {
    AlreadyDecided: ("besluit", "Op dit verzoek is al besloten."),
    BadValidity: ("geldig_tot", "Deze geldigheidsdatum is niet toegestaan (zie consent_max)."),
    NotNarrower: ("categorie", "Kies alleen uit wat gevraagd is (categorieën, bronnen, velden)."),
    BadWithholding: (
        "inzage_uitgesteld_tot",
        "Deze datum ligt in het verleden of na wat het convenant toestaat (withheld_max).",
    ),
    CategoriesRequired: ("categorie", "Kies een of meer van de gevraagde categorieën."),
    NotCompetent: (
        "categorie",
        "Het convenant legt de toestemming voor deze categorie bij een ander bevoegd gezag.",
    ),
    RequestChanged: (
        "versie",
        "Het verzoek is gewijzigd nadat u het opende (bijvoorbeeld een categorie erbij). "
        "Bekijk het opnieuw en besluit dan.",
    ),
    NotRevocable: ("intrekken", "Alleen een verleende toestemming kan worden ingetrokken."),
}


def _policy(request: Request) -> CompiledPolicy:
    return runtime_of(request).policy.current


def _desk(request: Request) -> ConsentDesk:
    return runtime_of(request).consent_desk


def _today() -> date:
    return datetime.now(UTC).date()


def _actor(request: Request, user: WebUser, consent_id: str) -> OmActor:
    if user.party is None:
        raise NotOm()
    return OmActor(user.party, user.sub, _desk(request).covenant_of(consent_id))


def _refused(request: Request, error: Problem) -> Response:
    """A request this OvJ may not see looks exactly like one that does not exist.

    The page acts in the request's own covenant, so ``NotOm`` here means the
    request belongs to a covenant whose OM this party is not: a 403 would tell
    an OvJ of another covenant which ids exist there. The desk has logged it.
    """
    del error  # NotFound and NotOm answer the same
    return render(request, "not_found.html", status_code=404)


def _detail(
    request: Request,
    user: WebUser,
    consent_id: str,
    form: DecisionForm | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        view = _desk(request).get(_actor(request, user, consent_id), consent_id)
    except (NotFound, NotOm) as error:
        return _refused(request, error)
    today, policy = _today(), _policy(request)
    latest = latest_valid_until(policy, view.convenant, today)
    latest_withheld = latest_withheld_until(policy, view.convenant, today)
    context: dict[str, Any] = {
        "c": consent_page(policy, view, today),
        "form": form,
        "errors": errors or (form.errors if form else {}),
        "today": today.isoformat(),
        "latest": latest.isoformat() if latest else "",
        "latest_withheld": latest_withheld.isoformat() if latest_withheld else "",
    }
    return render(request, "ovj/detail.html", context, status_code=status_code)


def _confirm_revoke(request: Request, user: WebUser, consent_id: str, reason: str) -> Response:
    try:
        view = _desk(request).get(_actor(request, user, consent_id), consent_id)
    except (NotFound, NotOm) as error:
        return _refused(request, error)
    context = {"c": consent_page(_policy(request), view, _today()), "reason": reason}
    return render(request, "ovj/intrekken.html", context)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/ovj", include_in_schema=False)

    @router.get("", name="ovj-home")
    def home(request: Request, user: OmUser) -> Response:
        policy, today = _policy(request), _today()
        covenants = [
            cov
            for cov, compiled in sorted(policy.covenants.items())
            if user.party is not None and compiled.may_decide_consents(user.party)
        ]
        if not covenants or user.party is None:
            return render(request, "forbidden.html", {"message": NOT_OM}, status_code=403)
        desk = _desk(request)
        lists: dict[str, list[ConsentPage]] = {
            status: [] for status in ("pending", "granted", "refused", "revoked")
        }
        for cov in covenants:
            actor = OmActor(user.party, user.sub, cov)
            for status, pages in lists.items():
                pages += [consent_page(policy, v, today) for v in desk.find(actor, status)]
        return render(request, "ovj/index.html", lists)

    @router.get("/{consent_id}", name="ovj-detail")
    def detail(request: Request, user: OmUser, consent_id: ConsentId) -> Response:
        return _detail(request, user, consent_id)

    @router.post("/{consent_id}/besluit", dependencies=[Depends(verify_csrf)])
    async def decide(request: Request, user: OmUser, consent_id: ConsentId) -> Response:
        desk = _desk(request)
        try:
            actor = _actor(request, user, consent_id)
            view = desk.get(actor, consent_id)
        except (NotFound, NotOm) as error:
            return _refused(request, error)
        today, policy = _today(), _policy(request)
        asked = consent_page(policy, view, today)
        form = parse_decision(
            await request.form(),
            asked_categories=view.categories,
            asked_recipients=(view.recipient,),
            today=today,
            latest=latest_valid_until(policy, view.convenant, today),
            latest_withheld=latest_withheld_until(policy, view.convenant, today),
            asked_sources=view.sources,
            asked_fields={cat.id: cat.fields for cat in asked.categories},
        )
        if form.decision is None:
            return _detail(request, user, consent_id, form, status_code=422)
        try:
            desk.decide(
                actor,
                consent_id,
                decision=form.decision,
                reason=form.reason,
                valid_until=form.valid_until if form.decision == "granted" else None,
                categories=form.categories if form.decision == "granted" else None,
                recipients=form.recipients if form.decision == "granted" else None,
                withheld_until=form.withheld_until,
                version=form.version,
                sources=form.sources if form.decision == "granted" else None,
                fields=form.fields if form.decision == "granted" else None,
            )
        except (
            AlreadyDecided,
            BadValidity,
            NotNarrower,
            BadWithholding,
            CategoriesRequired,
            NotCompetent,
            RequestChanged,
        ) as error:
            name, message = FIELD_OF_PROBLEM[type(error)]
            return _detail(request, user, consent_id, form, {name: message}, error.status)
        return RedirectResponse(request.url_for("ovj-detail", consent_id=consent_id), 303)

    @router.post("/{consent_id}/intrekken", dependencies=[Depends(verify_csrf)])
    async def revoke(request: Request, user: OmUser, consent_id: ConsentId) -> Response:
        submitted = await request.form()
        reason = str(submitted.get("reden_intrekken", "")).strip()
        problem = reason_error(reason)
        if problem:
            return _detail(request, user, consent_id, None, {"reden_intrekken": problem}, 422)
        if submitted.get("bevestigd") != "ja":
            # Revoking cannot be undone: the first post only asks "are you sure?".
            return _confirm_revoke(request, user, consent_id, reason)
        try:
            _desk(request).revoke(_actor(request, user, consent_id), consent_id, reason)
        except (NotFound, NotOm) as error:
            return _refused(request, error)
        except NotRevocable as error:
            name, message = FIELD_OF_PROBLEM[NotRevocable]
            return _detail(request, user, consent_id, None, {name: message}, error.status)
        return RedirectResponse(request.url_for("ovj-detail", consent_id=consent_id), 303)

    return router
