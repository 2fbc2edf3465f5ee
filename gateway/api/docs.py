"""Interactive API docs (Swagger UI), served from a pinned package instead of a CDN.

FastAPI's defaults load Swagger UI and ReDoc from a CDN at whatever version is
current: a script we do not control running on our origin. So ``/docs`` serves
the files of the ``swagger-ui-bundle`` package installed with the gateway
(version pinned by the lock of the deployment), and only in dev mode or when
``KETENPOORT_API_DOCS`` enables it. ``/redoc`` is not offered (no packaged
copy). The OpenAPI document itself stays at ``/openapi.json``: it is the
published contract.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from gateway.settings import Settings

DOCS_PATH = "/docs"
ASSETS_PATH = "/static/swagger"


def docs_enabled(settings: Settings) -> bool:
    return settings.dev_mode or settings.api_docs


def install_api_docs(app: FastAPI, settings: Settings) -> None:
    """Add ``/docs`` and its assets when enabled; the app must be built with ``docs_url=None``."""
    if not docs_enabled(settings):
        return
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_path), name="swagger-assets")
    redirect = DOCS_PATH + "/oauth2-redirect"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} - API",
            oauth2_redirect_url=redirect,
            swagger_js_url=ASSETS_PATH + "/swagger-ui-bundle.js",
            swagger_css_url=ASSETS_PATH + "/swagger-ui.css",
            swagger_favicon_url=ASSETS_PATH + "/favicon-32x32.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
