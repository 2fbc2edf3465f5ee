"""The shared web shell: one Jinja2 environment and a ``render`` every page uses.

Every page gets the same context (dev banner, logged-in user, CSRF token), so
/privacy, /ovj and /mijn look and behave alike and none can forget the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from gateway.web.session import csrf_token, current_user
from gateway.wiring import runtime_of

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
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
) -> HTMLResponse:
    """Render ``name`` inside the base layout with the shared context.

    ``forms=False`` is for pages without a form of their own (the start page,
    error pages): an anonymous visitor then gets no CSRF token, so merely
    looking at them starts no server-side session.
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
    return response


def _form_action(request: Request) -> str:
    """Forms may post to ourselves and redirect to the OIDC provider's origin."""
    issuer: str | None = getattr(request.app.state, "oidc_issuer", None)
    return issuer or ""
