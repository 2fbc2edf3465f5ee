"""/mijn: inzage, a printable copy, correctie and verzet forms, and my requests.

Every page needs a login whose ``bsn`` claim names the person; they only
ever see their own data. Forms post back here (CSRF-protected) and call the
same rights desk as the API, so deadlines, forwarding and the log are the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from gateway.grounds.service import AlreadyWithdrawn
from gateway.problems import Problem
from gateway.rights.desk import RightsDesk
from gateway.rights.service import Viewer
from gateway.subjects.bsn import Bsn
from gateway.web.mijn.forms import add_form_routes, add_request_routes
from gateway.web.mijn.person import representative_of, require_person
from gateway.web.mijn.presenting import (
    answers_rows,
    case_labels,
    consent_row,
    disclosure_row,
    nl_date,
    nl_time,
    privacy_officer_names,
    request_row,
    summary_row,
)
from gateway.web.session import verify_csrf
from gateway.web.templating import inline_stylesheet, render
from gateway.wiring import runtime_of

Person = Annotated[Bsn, Depends(require_person)]
NO_CONSENT_RIGHT = (
    "U mag deze toestemming niet namens de betrokkene intrekken: "
    "uw machtiging geeft daar geen recht op."
)


def _desk(request: Request) -> RightsDesk:
    return runtime_of(request).rights_desk


def representative_may(request: Request, bsn: Bsn, right: str) -> bool:
    """The person: always. A representative: what every covenant of the person's cases allows.

    With no case known, every loaded covenant must allow it (fail closed).
    """
    return _desk(request).representative_may(bsn, representative_of(request), right)


def _inzage_context(request: Request, bsn: Bsn, cases: dict[str, str]) -> dict[str, Any]:
    policy = runtime_of(request).policy.current
    relation = representative_of(request)
    base: dict[str, Any] = {
        "representative": relation,
        "may_inzage": representative_may(request, bsn, "inzage"),
        "may_answers": representative_may(request, bsn, "source_answers"),
        "may_consent": representative_may(request, bsn, "toestemming"),
    }
    if not base["may_inzage"]:
        return {
            **base,
            "disclosures": [],
            "withheld_count": 0,
            "withheld": [],
            "answers": [],
            "complete": True,
            "total": 0,
            "summary": [],
        }
    answers = _desk(request).source_answers(bsn) if base["may_answers"] else []
    found = _desk(request).inzage(bsn, "portal", representative=relation)
    return {
        **base,
        "answers": answers_rows(policy, answers),
        "disclosures": [disclosure_row(item, cases) for item in found.disclosures],
        # Cut list: the overview of every disclosure is shown with it (nothing dropped silently).
        "complete": found.complete,
        "total": found.total,
        "summary": [summary_row(group, cases) for group in found.summary],
        "withheld_count": found.withheld_count,
        "withheld": [
            (ground, count, nl_date(found.withheld_until[ground]))
            for ground, count in sorted(found.withheld.items())
        ],
    }


def build_router() -> APIRouter:
    router = APIRouter(prefix="/mijn", include_in_schema=False)

    @router.get("", name="mijn-home")
    def home(request: Request, bsn: Person) -> Response:
        runtime = runtime_of(request)
        now = datetime.now(UTC)
        policy = runtime.policy.current
        desk = _desk(request)
        cases = case_labels(desk.cases_of(bsn))
        requests = [request_row(policy, v, now, cases) for v in desk.requests_of(bsn)]
        grounds = runtime.ground_desk.of_person([desk.service.pseudonym(bsn)])
        consents = [consent_row(policy, view, now.date(), cases) for view in grounds]
        context = {
            **_inzage_context(request, bsn, cases),
            "requests": requests,
            "consents": consents,
            "privacy_officers": privacy_officer_names(policy),
        }
        return render(request, "mijn/index.html", context)

    @router.post(
        "/toestemmingen/{ground_id}/intrekken",
        name="mijn-toestemming-intrekken",
        dependencies=[Depends(verify_csrf)],
    )
    def withdraw_consent(
        request: Request,
        bsn: Person,
        ground_id: Annotated[str, Path(pattern=r"^gr-[0-9a-f]{20}$")],
    ) -> Response:
        """The person withdraws their own consent; from the next query it covers nothing.

        A representative needs the covenant's ``toestemming`` right for it
        (``rights.representatives``): withdrawing consent changes what the
        partners may share, which a mandate for inzage alone does not cover.
        """
        relation = representative_of(request)
        if not representative_may(request, bsn, "toestemming"):
            context = {"message": NO_CONSENT_RIGHT}
            return render(request, "mijn/niet_gelukt.html", context, status_code=403)
        pseudonym = _desk(request).service.pseudonym(bsn)
        try:
            runtime_of(request).ground_desk.withdraw_by_person(
                [pseudonym],
                ground_id,
                "ingetrokken door betrokkene via /mijn",
                representative=relation,
            )
        except AlreadyWithdrawn:
            pass  # a second click changes nothing
        except Problem:
            return render(request, "not_found.html", status_code=404)
        return RedirectResponse(request.url_for("mijn-home"), 303)

    @router.get("/afdruk", name="mijn-print")
    def printable(request: Request, bsn: Person, download: bool = False) -> Response:
        cases = case_labels(_desk(request).cases_of(bsn))
        context = {
            **_inzage_context(request, bsn, cases),
            "made_at": nl_time(datetime.now(UTC)),
            "inline_css": inline_stylesheet(),
        }
        response = render(request, "mijn/print.html", context, inline_styles=True)
        if download:
            stamp = datetime.now(UTC).strftime("%Y%m%d")
            response.headers["Content-Disposition"] = (
                f'attachment; filename="ketenpoort-inzage-{stamp}.html"'
            )
        return response

    add_form_routes(router)
    add_request_routes(router)

    @router.get("/verzoeken/{request_id}", name="mijn-verzoek")
    def request_detail(
        request: Request,
        bsn: Person,
        request_id: Annotated[str, Path(pattern=r"^rr-[0-9a-f]{20}$")],
    ) -> Response:
        desk = _desk(request)
        try:
            view = desk.get(Viewer(pseudonym=desk.service.pseudonym(bsn)), request_id)
        except Problem:
            return render(request, "not_found.html", status_code=404)
        cases = case_labels(desk.cases_of(bsn))
        policy = runtime_of(request).policy.current
        row = request_row(policy, view, datetime.now(UTC), cases)
        context = {
            "r": row,
            "sent": request.query_params.get("verstuurd") == "1",
            "privacy_officers": privacy_officer_names(policy),
            "representative": representative_of(request),
            # The button only where withdrawing is allowed (the POST checks it again).
            "may_withdraw": representative_may(request, bsn, view.type),
        }
        return render(request, "mijn/verzoek.html", context)

    return router
