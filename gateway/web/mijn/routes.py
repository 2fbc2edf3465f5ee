"""/mijn: inzage, a printable copy, correctie and verzet forms, and my requests.

Every page needs a login whose ``bsn`` claim names the person; they only
ever see their own data. Forms post back here (CSRF-protected) and call the
same rights desk as the API, so deadlines, forwarding and the log are the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path as Path_
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
    consent_row,
    disclosure_row,
    nl_time,
    request_row,
)
from gateway.web.session import verify_csrf
from gateway.web.templating import render
from gateway.wiring import runtime_of

Person = Annotated[Bsn, Depends(require_person)]
_STYLE = Path_(__file__).resolve().parent.parent / "static" / "ketenpoort.css"


def _desk(request: Request) -> RightsDesk:
    return runtime_of(request).rights_desk


def representative_may(request: Request, bsn: Bsn, right: str) -> bool:
    """The person: always. A representative: what every covenant of the person's cases allows.

    With no case known, every loaded covenant must allow it (fail closed).
    """
    return _desk(request).representative_may(bsn, representative_of(request), right)


def _inzage_context(request: Request, bsn: Bsn) -> dict[str, Any]:
    policy = runtime_of(request).policy.current
    relation = representative_of(request)
    base: dict[str, Any] = {
        "representative": relation,
        "may_inzage": representative_may(request, bsn, "inzage"),
        "may_answers": representative_may(request, bsn, "source_answers"),
    }
    if not base["may_inzage"]:
        return {**base, "disclosures": [], "withheld_count": 0, "withheld": [], "answers": []}
    answers = _desk(request).source_answers(bsn) if base["may_answers"] else []
    found = _desk(request).inzage(bsn, "portal", representative=relation)
    return {
        **base,
        "answers": answers_rows(policy, answers),
        "disclosures": [disclosure_row(item) for item in found.disclosures],
        "withheld_count": found.withheld_count,
        "withheld": [
            (ground, count, found.withheld_until[ground].strftime("%d-%m-%Y"))
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
        requests = [request_row(policy, v, now) for v in _desk(request).requests_of(bsn)]
        grounds = runtime.ground_desk.of_person([_desk(request).service.pseudonym(bsn)])
        consents = [consent_row(policy, view, now.date()) for view in grounds]
        context = {**_inzage_context(request, bsn), "requests": requests, "consents": consents}
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
        """The person withdraws their own consent; from the next query it covers nothing."""
        pseudonym = _desk(request).service.pseudonym(bsn)
        try:
            runtime_of(request).ground_desk.withdraw_by_person(
                [pseudonym], ground_id, "ingetrokken door betrokkene via /mijn"
            )
        except AlreadyWithdrawn:
            pass  # a second click changes nothing
        except Problem:
            return render(request, "not_found.html", status_code=404)
        return RedirectResponse(request.url_for("mijn-home"), 303)

    @router.get("/afdruk", name="mijn-print")
    def printable(request: Request, bsn: Person, download: bool = False) -> Response:
        context = {
            **_inzage_context(request, bsn),
            "made_at": nl_time(datetime.now(UTC)),
            # The download works offline: the style sheet goes inside the file.
            "inline_css": _STYLE.read_text(encoding="utf-8") if download else None,
        }
        response = render(request, "mijn/print.html", context)
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
        row = request_row(runtime_of(request).policy.current, view, datetime.now(UTC))
        context = {"r": row, "representative": representative_of(request)}
        return render(request, "mijn/verzoek.html", context)

    return router
