"""/rapportage: the covenant's figures as charts with a table beside each, for the
stuurgroep and the privacy officer (roles ``stuurgroep`` / ``privacy_officer``).

The page, its CSV download and the printable register come from the same
reports desk as the API: protected figures only, and every view logged as a
read (channel ``web``). Query parameters are validated; a bad date or kind
shows the form with a Dutch message, never an error trace.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.audit.officer import Reader
from gateway.reports.desk import READER_ROLES, ReportDesk, ReportRefused
from gateway.reports.model import REPORT_KINDS, Report
from gateway.reports.output import register_html, tables_html, to_csv
from gateway.reports.period import BadPeriod, Period
from gateway.web import glossary
from gateway.web.session import RoleMissing, WebUser, require_login
from gateway.web.templating import render
from gateway.wiring import runtime_of

CHANNEL = "web"
KIND_LABELS = glossary.REPORT_KIND
# Which glossary domain names a table's label cells (the others are words already).
TABLE_DOMAIN = {
    "casustypen": "case_type",
    "afsluitredenen": "closure_reason",
    "weigeringen": "reason",
}


def _cell_label(table: str, cell: object) -> str:
    """A label cell in Dutch: a code through the glossary, anything else as it is."""
    text = "" if cell is None else str(cell)
    if table == "verstrekkingen_categorie":
        return glossary.category(text) if text else ""
    domain = TABLE_DOMAIN.get(table)
    return glossary.label(domain, text, empty="") if domain else text


def _desk(request: Request) -> ReportDesk:
    return runtime_of(request).report_desk


def _identity(user: WebUser) -> str | None:
    return user.sub if user.party is not None and user.bsn is None else None


def web_reader(request: Request) -> Reader:
    """The login as a reader of the covenants where its party is stuurgroep or FG; else 403."""
    user = require_login(request)
    desk = _desk(request)
    readable = set(desk.readable_covenants(user.party))
    covenants = tuple(c for c in user.covenants if c in readable)
    if any(user.has_role(role) for role in READER_ROLES) and covenants:
        return Reader(user.party, _identity(user), covenants, CHANNEL)
    desk.log_refusal(
        Reader(user.party, _identity(user), user.covenants, CHANNEL), "page", "role_missing"
    )
    raise RoleMissing("stuurgroep")


ReportReader = Annotated[Reader, Depends(web_reader)]


def _choice(
    reader: Reader, kind: str | None, convenant: str | None, first: str | None, last: str | None
) -> tuple[str, str, Period | None, dict[str, str]]:
    errors: dict[str, str] = {}
    chosen_kind = kind if kind in REPORT_KINDS else "annual"
    if kind is not None and kind not in REPORT_KINDS:
        errors["soort"] = "Kies een bestaand soort rapportage."
    chosen = convenant if convenant in reader.covenants else reader.covenants[0]
    year = datetime.now(UTC).year
    try:
        start = date.fromisoformat(first) if first else date(year, 1, 1)
        end = date.fromisoformat(last) if last else date(year, 12, 31)
        return chosen_kind, chosen, Period.of(start, end), errors
    except (ValueError, BadPeriod):
        errors["periode"] = (
            "Vul een geldige periode in (JJJJ-MM-DD, van vóór tot, hoogstens drie jaar)."
        )
        return chosen_kind, chosen, None, errors


Text = Annotated[str | None, Query(max_length=40)]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/rapportage", include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    def page(
        request: Request,
        reader: ReportReader,
        soort: Text = None,
        convenant: Text = None,
        van: Text = None,
        tot: Text = None,
    ) -> Response:
        kind, chosen, period, errors = _choice(reader, soort, convenant, van, tot)
        report: Report | None = None
        tables = None
        render_ms = None
        if period is not None:
            try:
                report = _desk(request).report(reader, kind, chosen, period)
            except ReportRefused:
                raise RoleMissing("stuurgroep") from None
            started = time.perf_counter()
            tables = tables_html(report, _cell_label)
            render_ms = round((time.perf_counter() - started) * 1000, 1)
        return render(
            request,
            "rapportage/index.html",
            {
                "kinds": KIND_LABELS,
                "kind": kind,
                "convenant": chosen,
                "covenants": reader.covenants,
                "van": period.first.isoformat() if period else (van or ""),
                "tot": period.last.isoformat() if period else (tot or ""),
                "errors": errors,
                "report": report,
                "tables": tables,
                "render_ms": render_ms,
            },
            status_code=422 if errors.get("periode") else 200,
        )

    @router.get("/export.csv")
    def export_csv(
        request: Request,
        reader: ReportReader,
        soort: Text = None,
        convenant: Text = None,
        van: Text = None,
        tot: Text = None,
    ) -> Response:
        kind, chosen, period, errors = _choice(reader, soort, convenant, van, tot)
        if period is None or errors:
            return Response(
                "ongeldige periode of soort\n", status_code=422, media_type="text/plain"
            )
        report = _desk(request).report(reader, kind, chosen, period)
        name = f"{kind}-{chosen}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/register", response_class=HTMLResponse)
    def register(request: Request, reader: ReportReader, convenant: Text = None) -> Response:
        chosen = convenant if convenant in reader.covenants else reader.covenants[0]
        return HTMLResponse(register_html(_desk(request).register(reader, chosen)))

    return router
