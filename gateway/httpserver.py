"""The HTTP server stack every gateway process runs: uvicorn on uvloop with the httptools parser.

Why not uvicorn's defaults: without ``uvloop`` and ``httptools`` installed it
runs on the stdlib event loop with the pure-Python h11 parser, which cost
about 600 Python calls of a brokered query's ~5,000 (docs/performance.md,
"The HTTP server stack"). Both are dependencies now, and naming them here
(not ``"auto"``) makes a missing one a start-up error instead of a quiet fall
back to the slow stack. ``ketenpoort serve``, its workers, the demo and test
servers (gateway/demo/serving.py) and the benchmark's proxy and source all
build their uvicorn config here, so they are measured on one stack.

A request the parser refuses gets RFC 9457 problem+json like every other
error (``urn:ketenpoort:problem:bad-request``, ``no-store``, connection
closed), not uvicorn's plain-text ``Invalid HTTP request received.``.

What h11 enforced and httptools does not: a bound on the request head. h11
refuses a request line plus headers above 16 KiB; llhttp has no limit and
uvicorn adds none, so one endless header would grow in memory until the
connection dies. :class:`BoundedHttpToolsProtocol` keeps h11's bound with
the same 400 (connection closed) before the app sees anything. Everything else hostile (conflicting
``Content-Length``/``Transfer-Encoding``, bad chunk sizes, control characters
in headers, obsolete line folding) llhttp refuses in its strict mode, which
uvicorn uses; ``tests/security/test_http_edge.py`` holds the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gateway.problems import PROBLEM_MEDIA_TYPE, BadRequest


def has_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bool:
    """Whether a raw ASGI header list (a request's or a response start's) holds ``name``.

    ``name`` in lower case, as ASGI servers give request header names and as the
    gateway writes response ones. A loop rather than ``any(<generator>)``: a
    generator costs a Python call per header, and this runs on every request.
    """
    for key, _value in headers:  # noqa: SIM110
        if key == name:
            return True
    return False


LOOP: Final = "uvloop"
MAX_HEAD_BYTES: Final = 16 * 1024  # h11's default limit, which uvicorn applied before
# Everything in one request that is not body: the head, chunk sizes and trailers.
MAX_FRAMING_BYTES: Final = 64 * 1024
_INVALID: Final = "Invalid HTTP request received."
_REFUSED_BODY: Final = json.dumps(
    BadRequest(detail="The HTTP request could not be parsed.").body(), separators=(",", ":")
).encode("ascii")
_REFUSED_HEADERS: Final = (
    b"content-type: " + PROBLEM_MEDIA_TYPE.encode("ascii") + b"\r\n"
    b"cache-control: no-store\r\n"
    b"content-length: " + str(len(_REFUSED_BODY)).encode("ascii") + b"\r\n"
    b"connection: close\r\n\r\n"
)


class HeadTooLarge(httptools.HttpParserError):
    """Raised inside a parser callback; ``data_received`` answers it like any parse error."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with h11's 16 KiB bound on the request head.

    httptools buffers a header line it has not finished inside the parser, so
    bytes are counted as they arrive: while a head is incomplete (cut off once
    it passes the bound, give or take one read of the socket), and for the
    whole message everything that is not body (chunk framing and trailers, which
    llhttp would otherwise buffer without limit). A head that completed within
    one read is measured when it completes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._framing_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        self._framing_bytes += len(data)
        super().data_received(data)
        too_large = (self._in_head and self._head_bytes > MAX_HEAD_BYTES) or (
            self._framing_bytes > MAX_FRAMING_BYTES
        )
        if too_large and not self.transport.is_closing():
            self.logger.warning(_INVALID)
            self.send_400_response(_INVALID)

    def send_400_response(self, msg: str) -> None:
        """The parser's refusal as problem+json; ``msg`` (the parser's words) is not sent."""
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([_REFUSED_HEADERS, _REFUSED_BODY])
        self.transport.write(b"".join(content))
        self.transport.close()

    def on_headers_complete(self) -> None:
        size = len(self.url)
        for name, value in self.headers:  # a loop, not sum(genexpr): no frame per header
            size += len(name) + len(value) + 4
        if size > MAX_HEAD_BYTES:
            raise HeadTooLarge(_INVALID)
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._framing_bytes -= len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._framing_bytes = 0


def server_stack() -> dict[str, Any]:
    """The ``uvicorn.run``/``uvicorn.Config`` options that choose the loop and the parser."""
    return {"loop": LOOP, "http": BoundedHttpToolsProtocol}


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """A uvicorn config on this stack; ``options`` are any other ``uvicorn.Config`` ones."""
    return uvicorn.Config(app, **server_stack(), **options)
