"""Pooled HTTP/1.1 exchanges with partner sources (the Source API), over aiohttp.

Why not httpx, like the rest of the gateway: the source call is the largest
part of a brokered query's CPU that a query controls (issue 16), and per call
aiohttp costs about a fifth of what httpx (plus its OpenTelemetry
instrumentation) costs on the same machine (docs/performance.md). Peer gateways,
OAuth and everything else stay on httpx.

An aiohttp ``ClientSession`` belongs to the event loop it was made on, while
the gateway's runtime is also driven by CLI commands and tests that call
``asyncio.run`` more than once. So there is one session per running loop, made
on first use in that loop. A guard task in that loop closes the session when
the loop shuts down (``asyncio.run`` cancels what is left), so a session never
outlives its loop unclosed; ``aclose`` closes the current loop's session at once.

Every failure becomes ``SourceUnavailable(reason)``; the error body of a source
is never read, and neither its text nor the request body (which carries a BSN)
goes into an exception, a log or a span.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Final, Self

import aiohttp
import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from yarl import URL

from connectors.errors import SourceUnavailable, UnavailableReason
from gateway.spans import CurrentSpan
from gateway.tracecontext import inject_span

MAX_CONNECTIONS: Final = 200
MAX_CONNECTIONS_PER_SOURCE: Final = 50

TRACER = "ketenpoort.sources"  # the CLIENT spans' instrumentation scope
_NO_TIMEOUT: Final = aiohttp.ClientTimeout()  # every aiohttp timer off: see ``_session``


def default_tls_context() -> ssl.SSLContext:
    """Verifying TLS exactly as the gateway's httpx client does by default.

    httpx's own context: ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else
    the certifi bundle; a source reachable over httpx stays reachable here.
    """
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class _LoopSession:
    session: aiohttp.ClientSession
    guard: asyncio.Task[None]


async def _close_at_loop_end(session: aiohttp.ClientSession) -> None:
    """Waits for ever; cancelled by ``aclose`` or by the loop's shutdown, it closes the session."""
    try:
        await asyncio.Event().wait()
    finally:
        await session.close()


class SourceHttp:
    """The gateway's HTTP client for partner sources: one pooled session per event loop."""

    def __init__(
        self,
        *,
        limit: int = MAX_CONNECTIONS,
        limit_per_host: int = MAX_CONNECTIONS_PER_SOURCE,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._tls = tls if tls is not None else default_tls_context()
        # A ProxyTracer until the process's provider is set (``exchange`` asks again);
        # then the provider's own, without the proxy's two calls per span.
        self._tracer = trace.get_tracer(TRACER)
        self._lock = threading.Lock()  # loops of several threads (TestClient portals) share us
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = (
            weakref.WeakKeyDictionary()
        )
        # The session asked for last, with its loop: a query's call finds it without the
        # lock and the weak-key lookup (a weakref made per ``get``). The session holds
        # its loop anyway, so this keeps nothing alive that the table does not.
        self._last: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def open_sessions(self) -> int:
        """How many loops hold an open session (for tests and shutdown checks)."""
        with self._lock:
            return sum(1 for held in self._sessions.values() if not held.session.closed)

    async def aclose(self) -> None:
        """Closes this loop's session and forgets the sessions of loops that have ended."""
        loop = asyncio.get_running_loop()
        with self._lock:
            held = self._sessions.pop(loop, None)
            self._last = None
            self._forget_closed_loops()
        if held is None:
            return
        await held.session.close()
        held.guard.cancel()
        await asyncio.wait([held.guard])

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        timeout_s: float,
        max_bytes: int,
        accept: range = range(200, 201),
        source: str | None = None,
    ) -> bytes:
        """One exchange bounded by ``timeout_s`` from connect to the last byte read.

        Returns the (decoded) body of an answer whose status is in ``accept``, at
        most ``max_bytes`` of it. 401/403 are ``unauthorized``, any other status
        outside ``accept`` ``bad_status`` (its body is never read). ``source``
        (a party id) is named on the CLIENT span as ``ketenpoort.source``.
        """
        target, attributes = _target(method, url, source)
        tracer = self._tracer
        if type(tracer) is trace.ProxyTracer:
            tracer = self._tracer = trace.get_tracer(TRACER)
        # Not made current: nothing in the exchange looks it up (no log line, no
        # audit entry, no span of its own), and the traceparent is built from it.
        with CurrentSpan(tracer, method, attributes, kind=SpanKind.CLIENT, current=False) as span:
            inject_span(span, headers)  # the source sees this span as its parent
            try:
                async with asyncio.timeout(timeout_s):
                    return await self._send(
                        span, method, target, headers, body, params, max_bytes, accept
                    )
            except SourceUnavailable as exc:
                span.set_status(Status(StatusCode.ERROR, exc.reason))
                raise
            except TimeoutError:
                raise _failed(span, "timeout") from None
            except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError):
                raise _failed(span, "malformed") from None  # broken HTTP, body cut or undecodable
            except aiohttp.ClientError:
                raise _failed(span, "connect") from None  # refused, unreachable, reset, TLS

    async def _send(
        self,
        span: trace.Span,
        method: str,
        target: URL,
        headers: dict[str, str],
        body: bytes | None,
        params: Mapping[str, str] | None,
        max_bytes: int,
        accept: range,
    ) -> bytes:
        session = self._session()
        async with session.request(
            method,
            target,
            headers=headers,
            data=body,
            params=params or None,
            allow_redirects=False,
        ) as response:
            status = response.status
            span.set_attribute("http.response.status_code", status)
            if status in (401, 403):
                raise SourceUnavailable("unauthorized", status=status)
            if status not in accept:
                raise SourceUnavailable("bad_status", status=status)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceUnavailable("too_large")
            content = bytearray()
            reader = response.content
            # What ``async for chunk in reader.iter_any()`` does, without its iterator.
            try:
                while chunk := await reader.readany():
                    content += chunk
                    if len(content) > max_bytes:
                        raise SourceUnavailable("too_large")
            except aiohttp.EofStream:
                pass
            return bytes(content)

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop and not last[1].closed:
            return last[1]
        with self._lock:
            held = self._sessions.get(loop)
            if held is not None and not held.session.closed:
                self._last = (loop, held.session)
                return held.session
            self._forget_closed_loops()
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limit, limit_per_host=self._limit_per_host, ssl=self._tls
                ),
                trust_env=False,
                auto_decompress=True,
                # ``exchange``'s own ``asyncio.timeout`` bounds connect to last byte;
                # aiohttp's timers would repeat it on every call (issue 16).
                timeout=_NO_TIMEOUT,
                # A source cannot set state that rides along on later requests.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            guard = loop.create_task(_close_at_loop_end(session), name="source-http-session")
            self._sessions[loop] = _LoopSession(session, guard)
            self._last = (loop, session)
            return session

    def _forget_closed_loops(self) -> None:
        """A session refers to its loop, so entries only go when dropped here (lock held)."""
        for ended in [loop for loop in self._sessions if loop.is_closed()]:
            del self._sessions[ended]


@functools.lru_cache(maxsize=1024)
def _target(method: str, url: str, source: str | None) -> tuple[URL, Mapping[str, str | int]]:
    """The parsed URL and the CLIENT span's attributes for (method, url, source party).

    A connector asks the same few URLs (``/lookup`` and friends) on every query;
    parsing them and building the attributes once keeps that work off each call.
    The attributes are read-only: the span copies them.
    """
    target = URL(url)
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "server.address": target.host or "",
        "server.port": target.port or 0,
        "url.full": str(target.with_user(None).with_query(None).with_fragment(None)),
    }
    if source is not None:
        attributes["ketenpoort.source"] = source
    return target, MappingProxyType(attributes)


def _failed(span: trace.Span, reason: UnavailableReason) -> SourceUnavailable:
    span.set_status(Status(StatusCode.ERROR, reason))
    return SourceUnavailable(reason)
