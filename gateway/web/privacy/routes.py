"""/privacy: the privacy officer's (FG's) search over the audit log (API.md §5).

Every route needs a login whose party is privacy officer in at least one
covenant (gateway.web.privacy.officer) and shows only those covenants' entries,
anomalies and rights requests; every list, detail and export is itself logged.
Searching by BSN is a POST (CSRF-protected) that redirects to a URL holding
only the pseudonym.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from gateway.audit.keyfiles import KeyFileError
from gateway.audit.officer import Reader
from gateway.audit.search import BadQuery, EntryPage, EntryQuery
from gateway.audit.vault import VaultError
from gateway.web import glossary
from gateway.web.privacy.backend import integrity_status
from gateway.web.privacy.csv_export import csv_lines
from gateway.web.privacy.full_check import FullCheck
from gateway.web.privacy.officer import web_reader
from gateway.web.privacy.rights import overdue_provider
from gateway.web.privacy.rows import result_rows
from gateway.web.privacy.search_form import (
    FIELDS,
    SearchForm,
    parse_search,
    single_entry_query,
    subject_for_bsn,
)
from gateway.web.session import verify_csrf
from gateway.web.templating import render
from gateway.wiring import Runtime, runtime_of

ROLE = "privacy_officer"
CSV_MAX_ROWS = 100_000
CSV_PAGE = 500
# Machine columns (codes, UTC) with a Dutch label column after each code (``*_nl``).
CSV_COLUMNS = (
    "seq",
    "time",
    "kind",
    "kind_nl",
    "party",
    "employee",
    "purpose",
    "case",
    "source",
    "category",
    "outcome",
    "outcome_nl",
    "reason",
    "reason_nl",
    "subject",
    "consent_id",
    "records",
    "trace_id",
    "covenant_version",
    "processing_activity",
    "leaf_hash",
)
KIND_LABELS = glossary.KIND
_LABELLED = {"kind_nl": "kind", "outcome_nl": "outcome", "reason_nl": "reason"}
Officer = Annotated[Reader, Depends(web_reader)]


_FULL_CHECK_LOCK = threading.Lock()


def _full_check(request: Request) -> FullCheck:
    """The app's one background full verification, made on first use."""
    state = request.app.state
    with _FULL_CHECK_LOCK:
        check: FullCheck | None = getattr(state, "privacy_full_check", None)
        if check is None:
            runtime = runtime_of(request)
            desk = runtime.audit_desk
            check = FullCheck(runtime.db, desk.signer_jwks, runtime.audit.vault)
            state.privacy_full_check = check
        return check


def _search(runtime: Runtime, reader: Reader, query: EntryQuery, action: str) -> EntryPage:
    """The reader's covenants only; logged before it is shown."""
    return runtime.audit_desk.read(reader, query, action)


def _page(request: Request, reader: Reader, form: SearchForm, status_code: int = 200) -> Response:
    runtime = runtime_of(request)
    page: EntryPage | None = None
    errors = dict(form.errors)
    if form.query is not None:
        try:
            page = _search(runtime, reader, form.query, "list")
        except BadQuery:
            errors["cursor"] = "Deze vervolgpagina bestaat niet; zoek opnieuw."
            status_code = 400
        except (KeyFileError, VaultError):
            errors["keys"] = "De sleutels van het log zijn niet beschikbaar."
            status_code = 503
    overview = runtime.audit_desk.overview(reader.covenants)
    provider = overdue_provider(runtime)
    context: dict[str, Any] = {
        "form": form,
        "errors": errors,
        "page": page,
        "integrity": integrity_status(overview.head),
        "full_check": _full_check(request).status(),
        "signals": overview.signals,
        "rights_available": provider is not None,
        "overdue": list(provider.overdue(datetime.now(UTC), reader.covenants)) if provider else [],
        "kinds": KIND_LABELS,
        "outcomes": glossary.outcome_choices(),
        "rows": result_rows(page.entries) if page is not None else [],
        "next_link": form.querystring(cursor=page.next) if page and page.next else None,
        "export_link": form.querystring(),
    }
    return render(request, "privacy/index.html", context, status_code=status_code)


def _cell(item: dict[str, Any], column: str) -> object:
    """A CSV cell: the stored value, or the glossary's Dutch label for a ``*_nl`` column."""
    code = _LABELLED.get(column)
    if code is None:
        return item.get(column)
    value = item.get(code)
    return glossary.label(code, str(value), empty="") if value else ""


def _params(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in FIELDS}


def build_router() -> APIRouter:
    router = APIRouter(
        prefix="/privacy",
        include_in_schema=False,
    )

    @router.get("", name="privacy-home")
    def home(request: Request, reader: Officer) -> Response:
        form = parse_search(_params(request), cursor=request.query_params.get("cursor"))
        return _page(request, reader, form, 200 if not form.errors else 400)

    @router.post("/search", dependencies=[Depends(verify_csrf)])
    async def search(request: Request, reader: Officer) -> Response:
        submitted = await request.form()
        values = {name: str(submitted.get(name, "")) for name in FIELDS}
        bsn_text = str(submitted.get("bsn", "")).strip()
        if bsn_text:
            subject = subject_for_bsn(bsn_text, runtime_of(request).audit_desk.pseudonym)
            if subject is None:
                form = parse_search(values)
                bsn_error = "Vul een geldig BSN in: 9 cijfers die de elfproef doorstaan."
                form = replace(form, errors={**form.errors, "bsn": bsn_error}, query=None)
                return _page(request, reader, form, 400)
            values["subject"] = subject
        form = parse_search(values)
        if form.errors:
            return _page(request, reader, form, 400)
        return RedirectResponse("/privacy?" + form.querystring(), status_code=303)

    @router.post("/verify", dependencies=[Depends(verify_csrf)])
    def full_verify(request: Request, _reader: Officer) -> Response:
        # An FG action like every /privacy route: a recomputation of the whole log is
        # heavy, so a login without the role (a person on /mijn, an OvJ) may not start it.
        _full_check(request).start()
        return RedirectResponse("/privacy#integriteit-kop", status_code=303)

    @router.get("/entries/{seq}", name="privacy-entry")
    def entry(request: Request, reader: Officer, seq: int = Path(ge=0, le=2**62)) -> Response:
        page = _search(runtime_of(request), reader, single_entry_query(seq), "entry")
        found = [e for e in page.entries if e.get("seq") == seq]
        if not found:
            return render(request, "not_found.html", status_code=404)
        return render(request, "privacy/entry.html", {"entry": found[0], "kinds": KIND_LABELS})

    @router.get("/export.csv")
    def export(request: Request, reader: Officer) -> Response:
        form = parse_search(_params(request), limit=CSV_PAGE)
        if form.query is None:
            return _page(request, reader, form, 400)
        runtime = runtime_of(request)
        try:
            first = _search(runtime, reader, form.query, "export")
        except BadQuery:
            return _page(request, reader, replace(form, query=None), 400)

        def rows() -> Iterator[list[object]]:
            page, written = first, 0
            while True:
                for item in page.entries:
                    yield [_cell(item, column) for column in CSV_COLUMNS]
                    written += 1
                if page.next is None or written >= CSV_MAX_ROWS or form.query is None:
                    return
                page = _search(runtime, reader, replace(form.query, cursor=page.next), "export")

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return StreamingResponse(
            csv_lines(CSV_COLUMNS, rows()),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="ketenpoort-audit-{stamp}.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return router
