"""The shared web shell: one Jinja2 environment and a ``render`` every page uses.

Every page gets the same context (dev banner, logged-in user, CSRF token), so
/privacy, /ovj and /mijn look and behave alike and none can forget the token.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from gateway.web import glossary
from gateway.web.session import csrf_token, current_user
from gateway.web.timefmt import nl_clock, nl_date, nl_time
from gateway.wiring import runtime_of

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STYLESHEET = "ketenpoort.css"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# One glossary and one time format for every page: ``{{ e.outcome | label("outcome") }}``,
# ``{{ e.time | tijd }}``.
_environment.filters["label"] = lambda code, domain, empty="—": glossary.label(domain, code, empty)
_environment.filters["detail"] = glossary.detail_value
_environment.filters["categorie"] = glossary.category
_environment.filters["tijd"] = nl_time
_environment.filters["datum"] = nl_date
_environment.filters["klok"] = nl_clock
templates = Jinja2Templates(env=_environment)

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; script-src 'none'; img-src 'self'; "
        "form-action 'self' {form_action}; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    *,
    forms: bool = True,
    inline_styles: bool = False,
) -> HTMLResponse:
    """Render ``name`` inside the base layout with the shared context.

    ``forms=False`` is for pages without a form of their own (the start page,
    error pages): an anonymous visitor then gets no CSRF token, so merely
    looking at them starts no server-side session. ``inline_styles=True`` is
    for a page that carries its stylesheet inline (the downloaded inzage copy,
    read offline): its CSP allows exactly that stylesheet by hash.
    """
    runtime = runtime_of(request)
    user = current_user(request)
    full: dict[str, Any] = {
        "dev_mode": runtime.settings.dev_mode,
        "user": user,
        "csrf_token": csrf_token(request) if forms or user is not None else "",
    }
    full.update(context or {})
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    for header, value in SECURITY_HEADERS.items():
        response.headers[header] = value.format(form_action=_form_action(request))
    if inline_styles:
        policy = response.headers["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = policy.replace(
            "style-src 'self'", f"style-src 'self' '{_stylesheet_hash()}'"
        )
    return response


@functools.cache
def inline_stylesheet() -> str:
    """The one stylesheet's text, for a page that must look right without the server."""
    return (STATIC_DIR / STYLESHEET).read_text(encoding="utf-8")


@functools.cache
def _stylesheet_hash() -> str:
    digest = hashlib.sha256(inline_stylesheet().encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _form_action(request: Request) -> str:
    """Forms may post to ourselves and redirect to the OIDC provider's origin."""
    issuer: str | None = getattr(request.app.state, "oidc_issuer", None)
    return issuer or ""
