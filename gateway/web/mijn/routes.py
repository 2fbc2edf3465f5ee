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
from fastapi.responses import Response

from gateway.problems import Problem
from gateway.rights.desk import RightsDesk
from gateway.rights.service import Viewer
from gateway.rights.services import rights_desk
from gateway.runtime import Runtime
from gateway.subjects.bsn import Bsn
from gateway.web.mijn.forms import add_form_routes, add_request_routes
from gateway.web.mijn.person import representative_of, require_person
from gateway.web.mijn.presenting import (
    answers_rows,
    disclosure_row,
    nl_time,
    request_row,
)
from gateway.web.templating import render

Person = Annotated[Bsn, Depends(require_person)]
_STYLE = Path_(__file__).resolve().parent.parent / "static" / "ketenpoort.css"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _desk(request: Request) -> RightsDesk:
    return rights_desk(_runtime(request))


def representative_may(request: Request, bsn: Bsn, right: str) -> bool:
    """The person: always. A representative: what every covenant of the person's cases allows.

    With no case known, every loaded covenant must allow it (fail closed).
    """
    relation = representative_of(request)
    if relation is None:
        return True
    policy = _runtime(request).policy.current
    covenants = {case.convenant for case in _desk(request).cases_of(bsn)} or set(policy.covenants)
    for convenant in covenants:
        covenant = policy.covenant(convenant)
        if covenant is None or not covenant.rights.representative_may(relation, right):
            return False
    return True


def _inzage_context(request: Request, bsn: Bsn) -> dict[str, Any]:
    policy = _runtime(request).policy.current
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
        runtime = _runtime(request)
        now = datetime.now(UTC)
        policy = runtime.policy.current
        requests = [request_row(policy, v, now) for v in _desk(request).requests_of(bsn)]
        context = {**_inzage_context(request, bsn), "requests": requests}
        return render(request, "mijn/index.html", context)

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
        row = request_row(_runtime(request).policy.current, view, datetime.now(UTC))
        context = {"r": row, "representative": representative_of(request)}
        return render(request, "mijn/verzoek.html", context)

    return router
