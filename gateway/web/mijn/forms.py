"""The correctie and verzet forms of /mijn: validate in Dutch, then file at the rights desk."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from gateway.problems import Problem
from gateway.rights.desk import RightsDesk
from gateway.rights.refusals import RightsRequestRefused
from gateway.rights.service import Application, Filer, Viewer
from gateway.subjects.bsn import Bsn, holds_bsn
from gateway.web.glossary import label
from gateway.web.mijn.person import representative_of, require_person
from gateway.web.mijn.presenting import case_labels, nl_date, source_choices
from gateway.web.session import verify_csrf
from gateway.web.templating import render
from gateway.wiring import runtime_of

Person = Annotated[Bsn, Depends(require_person)]
MAX_DETAILS = 4000
# The details are kept and shown in clear (the request, the audit log): no BSN in them,
# as the API's ``Text`` refuses one (promise 10). The request itself already names who.
NO_BSN = "Schrijf hier geen burgerservicenummer (BSN): wij weten al wie u bent."


def _desk(request: Request) -> RightsDesk:
    return runtime_of(request).rights_desk


def _details(form: Any) -> tuple[str, str | None]:
    text = str(form.get("details", "")).strip()
    if not text:
        return text, "Vul in wat u wilt vragen."
    if len(text) > MAX_DETAILS or "\x00" in text:
        return text, f"Gebruik hoogstens {MAX_DETAILS} tekens."
    if holds_bsn(text):
        return text, NO_BSN
    return text, None


def _filer(request: Request) -> Filer:
    """The person, or their representative (the relation goes into every entry)."""
    return Filer(representative=representative_of(request))


INZAGE_DEFAULT = "Verzoek om inzage en een kopie van mijn gegevens (AVG artikel 15)."


NOT_WITHDRAWN = "Dit verzoek is al afgehandeld en kan niet meer worden ingetrokken."
NOT_YOURS_TO_WITHDRAW = (
    "U mag dit verzoek niet namens de betrokkene intrekken: uw machtiging geeft daar geen recht op."
)


def add_request_routes(router: APIRouter) -> None:
    """Asking every organisation for a copy (inzage), and withdrawing a request."""

    @router.post("/inzage", dependencies=[Depends(verify_csrf)], name="mijn-inzage")
    async def inzage_submit(request: Request, bsn: Person) -> Response:
        """An inzage at every joint controller: each sends a copy of what it holds."""
        form = await request.form()
        details = str(form.get("details", "")).strip() or INZAGE_DEFAULT
        if len(details) > MAX_DETAILS or "\x00" in details:
            details = INZAGE_DEFAULT
        if holds_bsn(details):
            return render(request, "mijn/niet_gelukt.html", {"message": NO_BSN}, status_code=400)
        application = Application(type="inzage", bsn=bsn, details=details)
        try:
            view = await _desk(request).file(_filer(request), application)
        except Problem as error:
            context = {"message": _problem_text(error)}
            return render(request, "mijn/niet_gelukt.html", context, status_code=400)
        return RedirectResponse(f"/mijn/verzoeken/{view.id}", status_code=303)

    @router.post(
        "/verzoeken/{request_id}/intrekken",
        dependencies=[Depends(verify_csrf)],
        name="mijn-intrekken",
    )
    def withdraw_submit(
        request: Request,
        bsn: Person,
        request_id: Annotated[str, Path(pattern=r"^rr-[0-9a-f]{20}$")],
    ) -> Response:
        desk = _desk(request)
        viewer = Viewer(
            pseudonym=desk.service.pseudonym(bsn), representative=representative_of(request)
        )
        try:
            desk.withdraw(viewer, request_id)
        except Problem as error:
            if error.status == 404:
                return render(request, "not_found.html", status_code=404)
            if isinstance(error, RightsRequestRefused):  # a representative without the right
                context = {"message": NOT_YOURS_TO_WITHDRAW}
                return render(request, "mijn/niet_gelukt.html", context, status_code=403)
            context = {"message": NOT_WITHDRAWN}
            return render(request, "mijn/niet_gelukt.html", context, status_code=409)
        return RedirectResponse(f"/mijn/verzoeken/{request_id}", status_code=303)


def add_form_routes(router: APIRouter) -> None:
    def correctie_page(
        request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200
    ) -> Response:
        sources = source_choices(runtime_of(request).policy.current)
        context = {"values": values, "errors": errors, "sources": sources}
        return render(request, "mijn/correctie.html", context, status_code=status_code)

    @router.get("/correctie", name="mijn-correctie")
    def correctie_form(request: Request, bsn: Person) -> Response:
        return correctie_page(request, {}, {})

    @router.post("/correctie", dependencies=[Depends(verify_csrf)])
    async def correctie_submit(request: Request, bsn: Person) -> Response:
        form = await request.form()
        details, problem = _details(form)
        source = str(form.get("source", "")).strip() or None
        values = {"details": details, "source": source or ""}
        known = {party for party, _ in source_choices(runtime_of(request).policy.current)}
        errors = {"details": problem} if problem else {}
        if source is not None and source not in known:
            errors["source"] = "Kies een organisatie uit de lijst."
        if errors:
            return correctie_page(request, values, errors, 400)
        application = Application(type="correctie", bsn=bsn, details=details, source=source)
        try:
            view = await _desk(request).file(_filer(request), application)
        except Problem as error:
            return correctie_page(request, values, {"form": _problem_text(error)}, 400)
        return RedirectResponse(f"/mijn/verzoeken/{view.id}?verstuurd=1", status_code=303)

    def verzet_page(
        request: Request,
        bsn: Bsn,
        values: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Response:
        found = _desk(request).cases_of(bsn)
        labels = case_labels(found)
        cases = [
            {
                "id": c.id,
                "label": labels[c.id],
                "phase": label("phase", c.phase),
                "opened": nl_date(c.created_at),
            }
            for c in sorted(found, key=lambda c: c.created_at)
        ]
        context = {"values": values, "errors": errors, "cases": cases}
        return render(request, "mijn/verzet.html", context, status_code=status_code)

    @router.get("/verzet", name="mijn-verzet")
    def verzet_form(request: Request, bsn: Person) -> Response:
        return verzet_page(request, bsn, {"cases": []}, {})

    @router.post("/verzet", dependencies=[Depends(verify_csrf)])
    async def verzet_submit(request: Request, bsn: Person) -> Response:
        form = await request.form()
        details, problem = _details(form)
        chosen = [str(value) for value in form.getlist("cases")]
        values = {"details": details, "cases": chosen}
        own = {choice.id for choice in _desk(request).cases_of(bsn)}
        errors = {"details": problem} if problem else {}
        if not set(chosen) <= own:
            errors["cases"] = "Kies alleen casussen uit de lijst."
        if errors:
            return verzet_page(request, bsn, values, errors, 400)
        application = Application(type="verzet", bsn=bsn, details=details, cases=tuple(chosen))
        try:
            view = await _desk(request).file(_filer(request), application)
        except Problem as error:
            return verzet_page(request, bsn, values, {"form": _problem_text(error)}, 400)
        return RedirectResponse(f"/mijn/verzoeken/{view.id}?verstuurd=1", status_code=303)


def _problem_text(error: Problem) -> str:
    """A Dutch message for a refusal by the rights service; details stay in the log."""
    if error.status == 422:
        return (
            "Dit verzoek kan zo niet worden ingediend. "
            "Controleer de gekozen casussen en organisatie."
        )
    return "Het verzoek kon niet worden ingediend. Probeer het later opnieuw."
