"""The root page ``/``: a Dutch start page that links every role's page.

Before it, ``/`` answered a JSON 404, which is what a person typing the
gateway's address into a browser saw first. API clients never call ``/``;
the page carries no data, only links, and shows the API docs link only where
``/docs`` is actually served (gateway/api/docs.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from gateway.api.docs import DOCS_PATH, docs_enabled
from gateway.settings import Settings
from gateway.web.templating import render


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    docs = DOCS_PATH if docs_enabled(settings) else None

    @router.get("/", name="web-landing")
    async def landing(request: Request) -> HTMLResponse:
        return render(request, "landing.html", {"docs_path": docs}, forms=False)

    @router.get("/toegankelijkheid", name="web-accessibility")
    async def accessibility(request: Request) -> HTMLResponse:
        """The accessibility statement (toegankelijkheidsverklaring): what was tested, how."""
        return render(request, "toegankelijkheid.html", forms=False)

    return router
