"""What every outbound HTTP exchange of the gateway keeps to: no cookies, bounds in all.

A client shared across partners (peer gateways, token endpoints, JWKS) with an
ordinary cookie jar would carry a cookie that one partner set to every other
partner on the same host name (cookies ignore ports), and back to the first on
every later call: a channel between parties that only the covenant may open,
and state the gateway never meant to hold. None of our exchanges needs one.

Exchanges made outside the source and peer paths (a partner's key set, the
OvJ's webhook, a peer's token) go through :func:`bounded_exchange`: one bound on
the time of the whole exchange and one on the bytes read, before inflating.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Final, Literal, TypeVar

import httpx

IDENTITY: Final = "identity"

T = TypeVar("T")


def cookieless_jar() -> CookieJar:
    """A jar whose policy refuses every cookie, set or sent (no domain is allowed)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


OutboundReason = Literal["timeout", "unreachable", "malformed", "too_large", "encoded"]


class OutboundRefused(Exception):
    """An exchange cut short by its bounds or broken on the wire; ``reason`` says which."""

    def __init__(self, reason: OutboundReason) -> None:
        super().__init__(reason)
        self.reason: OutboundReason = reason


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes


async def bounded_exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    extensions: Mapping[str, str] | None = None,
) -> Answer:
    """One exchange bounded in all: ``timeout_s`` from connect to the last byte, at most
    ``max_bytes`` of body (``0``: the body is not read, only the status counts).

    httpx's timeout bounds each read, so a server that drips a byte a second (in
    its head or its body) would hold the caller for ever; ``asyncio.timeout``
    bounds the whole. The answer is asked uncompressed and a compressed one is
    refused before anything is inflated: a few kilobytes of gzip can inflate to
    gigabytes, and none of these answers (key sets, tokens) needs compression.
    """
    asked = {**(headers or {}), "Accept-Encoding": IDENTITY}
    try:
        async with (
            asyncio.timeout(timeout_s),
            client.stream(
                method,
                url,
                headers=asked,
                content=content,
                data=data,
                timeout=timeout_s,
                follow_redirects=False,
                extensions=dict(extensions or {}),
            ) as response,
        ):
            body = await _read_raw(response, max_bytes) if max_bytes > 0 else b""
            return Answer(response.status_code, response.headers, body)
    except (TimeoutError, httpx.TimeoutException):
        raise OutboundRefused("timeout") from None
    except (httpx.ProtocolError, httpx.DecodingError):
        raise OutboundRefused("malformed") from None
    except httpx.TransportError:
        raise OutboundRefused("unreachable") from None


def sent_as_is(response: httpx.Response) -> bool:
    """Whether the answer is uncompressed (no ``Content-Encoding`` but ``identity``)."""
    encoding = response.headers.get("content-encoding", IDENTITY).strip().lower()
    return encoding in ("", IDENTITY)


async def _read_raw(response: httpx.Response, max_bytes: int) -> bytes:
    if not sent_as_is(response):
        raise OutboundRefused("encoded")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundRefused("too_large")
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise OutboundRefused("too_large")
    return bytes(body)


def run_exchange(exchange: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Runs ``exchange`` to its end for synchronous code (a worker thread, a delivery thread).

    A client and an event loop of its own, closed after: these exchanges are rare
    (a partner's key set, a webhook), and only ``asyncio.timeout`` bounds one in all.
    """

    async def run() -> T:
        async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
            return await exchange(client)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called on a thread that runs a loop (not the gateway's way): a thread of its own.
    with ThreadPoolExecutor(1, thread_name_prefix="outbound") as pool:
        return pool.submit(asyncio.run, run()).result()
