"""Query strings (and BSN-shaped numbers) out of access logs and span attributes.

A URL is copied to places the vault does not protect: the uvicorn access log,
the OpenTelemetry span attributes (``http.url``, ``url.full``, ``url.query``)
that go to a collector. No route takes personal data in a query string any more
(a BSN search is a POST), but a caller can still send one, so the value of
every query parameter is replaced by ``redacted`` before it is logged or
exported; parameter names are kept for debugging, unless one holds a run of
eight or more digits (the shape of a BSN), plain or percent-encoded. In the
path and the host of a URL, every such run is redacted too, and so is a BSN
written as people write one (``holds_bsn``: in groups joined by one to three
characters that are neither letter nor digit, "9999 90 007", "999_990_007",
"999/990/007"; in another script's digits; with invisible characters or
superscript digits, which are read as NFKC without the invisible ones), since a
caller may put one in a path that matches no route or in its Host header. The same digit
rule covers span attributes copied from request headers a caller fills freely
(User-Agent, Host, X-Forwarded-For); a caller's ``tracestate`` is not copied at
all (gateway.tracecontext). The gateway's own SERVER span is built with these
values already redacted (gateway.telemetry.server); :func:`redact_span` is for
spans made by an instrumentation (the httpx client's).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from opentelemetry.trace import Span

from gateway.subjects.bsn import FEW_ASCII_DIGITS, holds_bsn, scan_form

REDACTED = "redacted"
URL_ATTRIBUTES = ("http.url", "url.full")
QUERY_ATTRIBUTES = ("url.query",)
TARGET_ATTRIBUTES = ("http.target", "url.path")
# Free text the caller chooses in request headers (User-Agent, Host, X-Forwarded-For):
# kept for debugging, but with BSN-shaped digit runs redacted like a path.
HEADER_ATTRIBUTES = (
    "http.user_agent",
    "user_agent.original",
    "http.host",
    "server.address",
    "http.server_name",
    "http.client_ip",
    "client.address",
)
_LONG_DIGITS = re.compile(r"[0-9]{8,}")
# A number as people write one: a run of eight or more digits of any script, or
# digits in groups joined by one to three characters that are neither letter nor digit
# ("9999 90 007", "999_990_007", "999 - 990 - 007"), as ``holds_bsn`` reads them.
_NUMBERS = re.compile(r"\d+(?:[\W_]{1,3}\d+)+|\d{8,}")
_LONG_RUN = re.compile(r"\d{8,}")
ACCESS_LOGGER = "uvicorn.access"


def _name(name: str) -> str:
    """A query parameter's name as shown: cut at 40 characters, ``redacted`` if it holds 8+ digits.

    Checked decoded (``%31%32…`` is ``12…``) but shown as sent, so no decoded
    control character reaches a log line.
    """
    if _LONG_DIGITS.search(name) or ("%" in name and _LONG_DIGITS.search(unquote_plus(name))):
        return REDACTED
    return name[:40]


def redact_query(query: str) -> str:
    """``a=1&b=2`` becomes ``a=redacted&b=redacted``; names are cut at 40 characters."""
    if not query:
        return query
    parts = []
    for pair in query.split("&"):
        parts.append(f"{_name(pair.split('=', 1)[0])}={REDACTED}" if pair else pair)
    return "&".join(parts)


# Numbers seen to hold no BSN and no run of 8+ digits, shown as they are: the server's
# and the Host header's "10.0.0.5:8443" come with every request, and ``holds_bsn`` reads
# such a number digit group by digit group in Python (~250 bytecodes, twice a request;
# issue 16). Only digits and separators (a ``_NUMBERS`` match), never one that was or
# held a BSN; short ones only, and at most _CLEAR_MAX of them (emptied when full).
_CLEAR_NUMBERS: dict[str, None] = {}
_CLEAR_MAX = 256
_CLEAR_LENGTH = 40


def _number(match: re.Match[str]) -> str:
    """A run of 8+ digits always goes, inside a grouped number too; any other number when
    it holds a BSN."""
    number = match.group()
    if number in _CLEAR_NUMBERS:
        return number
    if _LONG_RUN.search(number):  # a run of 8+ digits, alone or inside groups ("12345678/1")
        number = _LONG_RUN.sub(REDACTED, number)
    if number.isascii() and FEW_ASCII_DIGITS.fullmatch(number):  # "127.0.0.1": too few
        return number
    if holds_bsn(number):
        return REDACTED
    if len(number) <= _CLEAR_LENGTH and number == match.group():
        if len(_CLEAR_NUMBERS) >= _CLEAR_MAX:
            _CLEAR_NUMBERS.clear()
        _CLEAR_NUMBERS[number] = None
    return number


_redact_numbers: Callable[[str], str] = partial(_NUMBERS.sub, _number)


def redact_path(value: str) -> str:
    """A path (or header value) with every run of 8+ digits (a BSN's shape) replaced, and
    every other number that holds a BSN as people write one (``holds_bsn``).

    A value that is not ASCII is first read as ``holds_bsn`` reads text (NFKC, invisible
    characters dropped), so superscript digits or a zero-width space inside a number
    cannot hide it; ASCII (nearly every value) goes straight to the C substitution.
    """
    if not value.isascii():
        value = scan_form(value)
    return _redact_numbers(value)


def redact_target(target: str) -> str:
    """A request target (``/path?query``) with its query values and long numbers redacted."""
    path, mark, query = target.partition("?")
    return redact_path(path) + mark + redact_query(query)


def redact_url(url: str) -> str:
    """An absolute URL with its query values redacted (and no user info)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = redact_path(parts.netloc.rsplit("@", 1)[-1])
    path = redact_path(parts.path)
    return urlunsplit((parts.scheme, netloc, path, redact_query(parts.query), ""))


def redact_request_url(scheme: str, host: str, path: str, query: str) -> str:
    """The URL of a request to this server from its parts, redacted as :func:`redact_url` does.

    Put together rather than parsed: the parts are already apart in the ASGI scope.
    """
    url = f"{scheme}://{redact_path(host.rsplit('@', 1)[-1])}{redact_path(path)}"
    return f"{url}?{redact_query(query)}" if query else url


_REDACTORS: dict[str, Callable[[str], str]] = {
    **dict.fromkeys(URL_ATTRIBUTES, redact_url),
    **dict.fromkeys(TARGET_ATTRIBUTES, redact_target),
    **dict.fromkeys(QUERY_ATTRIBUTES, redact_query),
    **dict.fromkeys(HEADER_ATTRIBUTES, redact_path),
}


def redact_span(span: Span) -> None:
    """Overwrite URL and header attributes that may carry a query string or a BSN.

    Only the names the span has are looked at (one pass over its keys), and a
    value is written back only when redacting changed it.
    """
    if not span.is_recording():
        return
    attributes: Any = getattr(span, "attributes", None)
    if not attributes:
        return
    for name in _REDACTORS.keys() & attributes.keys():
        value = attributes[name]
        if isinstance(value, str):
            redacted = _REDACTORS[name](value)
            if redacted != value:
                span.set_attribute(name, redacted)


class AccessLogRedaction(logging.Filter):
    """For uvicorn's access log: the request line's query values become ``redacted``.

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with (client, method, target,
    version, status); only the target is rewritten, every other record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Add the filter to uvicorn's access logger once per process (survives its dictConfig)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, AccessLogRedaction) for existing in logger.filters):
        logger.addFilter(AccessLogRedaction())
