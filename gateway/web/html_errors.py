"""A Dutch HTML error page for a browser, the RFC 9457 problem for everyone else.

Every error leaves the app as ``application/problem+json`` (gateway/api/errors.py).
A person who opens a wrong address in a browser should not read raw JSON, so
this middleware swaps such a response for a Dutch page with the same status
when the request's ``Accept`` header prefers ``text/html`` over JSON (browsers
do; curl and API clients send ``*/*`` or JSON and keep the problem). The page
says what the status means in Dutch and nothing from the problem body: never
a detail, a path or a stack trace. The machine paths (``/v1``, ``/oauth``,
``/health``, ``/.well-known``, ``/openapi.json``) always keep problem+json
whatever they are sent. If the page cannot be rendered, the original problem
goes out unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import PROBLEM_MEDIA_TYPE
from gateway.web.templating import render

log = logging.getLogger("ketenpoort.web")

API_PREFIXES: Final = ("/v1", "/oauth", "/health", "/.well-known", "/openapi.json")
KEPT_HEADERS: Final = ("retry-after", "allow")
JSON_TYPES: Final = ("application/json", "application/problem+json")

MESSAGES: Final[Mapping[int, tuple[str, str]]] = {
    400: ("Ongeldig verzoek", "Dit verzoek kan de Ketenpoort niet verwerken."),
    401: ("Niet ingelogd", "U moet eerst inloggen om deze pagina te zien."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina."),
    404: ("Niet gevonden", "Deze pagina of dit item bestaat niet."),
    405: ("Niet toegestaan", "Deze pagina kan niet op deze manier worden opgevraagd."),
    406: ("Niet beschikbaar", "Deze pagina is niet beschikbaar in de gevraagde vorm."),
    409: ("Conflict", "Dit verzoek botst met de huidige stand van zaken. Probeer het opnieuw."),
    413: ("Te groot", "Wat u verstuurde is te groot."),
    415: ("Onbekend formaat", "Wat u verstuurde heeft een vorm die de Ketenpoort niet kent."),
    422: ("Ongeldige invoer", "Wat u invulde of meestuurde klopt niet."),
    429: ("Te veel verzoeken", "U deed te veel verzoeken achter elkaar. Wacht even."),
    503: (
        "Tijdelijk niet beschikbaar",
        "De Ketenpoort is tijdelijk niet beschikbaar. Probeer het over een minuut opnieuw.",
    ),
}
CLIENT_ERROR: Final = ("Verzoek niet uitgevoerd", "Dit verzoek kon niet worden uitgevoerd.")
SERVER_ERROR: Final = (
    "Er ging iets mis",
    "Er ging iets mis bij de Ketenpoort. Probeer het later opnieuw.",
)


def _quality(accept: str, wanted: str) -> float:
    """The q of ``wanted`` in an Accept header: the most specific matching range wins."""
    kind = wanted.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        if media == wanted:
            rank = 2
        elif media == f"{kind}/*":
            rank = 1
        elif media == "*/*":
            rank = 0
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if rank > best[0]:
            best = (rank, q)
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """True only when HTML is strictly preferred to every JSON type (browsers, not curl)."""
    if not accept:
        return False
    html = _quality(accept, "text/html")
    return html > 0 and all(html > _quality(accept, other) for other in JSON_TYPES)


_API_DIRS: Final = tuple(prefix + "/" for prefix in API_PREFIXES)


def is_api_path(path: str) -> bool:
    # One prefix, or below one: no generator (a call per prefix) on every API request.
    return path in API_PREFIXES or path.startswith(_API_DIRS)


def page_text(status: int) -> tuple[str, str]:
    if status in MESSAGES:
        return MESSAGES[status]
    return SERVER_ERROR if status >= 500 else CLIENT_ERROR


class HtmlErrorPages:
    """Turns a problem+json answer into a Dutch page for browsers, outside the API paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or is_api_path(str(scope.get("path", "")))
            or not prefers_html(Headers(scope=scope).get("accept"))
        ):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def intercept(message: Message) -> None:
            if not held:
                if message["type"] == "http.response.start" and _is_problem(message):
                    held.append(message)
                    return
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await _send_page(scope, held, send)

        await self.app(scope, receive, intercept)


def _is_problem(start: Message) -> bool:
    media = Headers(raw=start.get("headers", [])).get("content-type", "")
    return int(start["status"]) >= 400 and media.split(";")[0].strip() == PROBLEM_MEDIA_TYPE


async def _send_page(scope: Scope, held: list[Message], send: Send) -> None:
    status = int(held[0]["status"])
    try:
        heading, text = page_text(status)
        page = render(
            Request(scope),
            "error.html",
            {"heading": heading, "message": text, "status": status},
            status_code=status,
            forms=False,
        )
    except Exception:  # noqa: BLE001 - any failure: the problem goes out as it was
        log.warning("HTML error page for status %s could not be rendered", status)
        for message in held:
            await send(message)
        return
    original = Headers(raw=held[0].get("headers", []))
    for name in KEPT_HEADERS:
        if name in original:
            page.headers[name] = original[name]
    await send({"type": "http.response.start", "status": status, "headers": page.raw_headers})
    await send({"type": "http.response.body", "body": page.body})
