"""HTTP to a peer Ketenpoort: one time budget, bounded retries, a short reason per failure.

A peer's problem body is our own RFC 9457 format and holds no personal data;
only its ``reason`` extension is read, and only if it looks like one of ours.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

from connectors.models import Requester
from gateway.outbound import IDENTITY, sent_as_is

MAX_ANSWER_BYTES: Final = 5 * 1024 * 1024
MAX_PROBLEM_BYTES: Final = 16 * 1024
RETRY_ATTEMPTS: Final = 3
BASE_DELAY_S: Final = 0.05
_REASON = re.compile(r"[a-z_]{1,40}")
_EMPLOYEE_MAX: Final = 128
_RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
_RAW: Final = {"Accept-Encoding": IDENTITY}  # see _bounded


class PeerDenied(Exception):
    """The peer's covenant (or its authorization server) said no; ``reason`` is ``peer_*``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PeerDown(Exception):
    """No usable answer from the peer; ``reason`` is ``peer_*`` (unreachable, timeout, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def no_answer(self) -> bool:
        """The peer said nothing at all: a copy of its earlier answer may stand in."""
        return self.reason in _NO_ANSWER


# Timeout, no connection, 429/5xx (``_RETRY_STATUSES``): what ``_once`` retries.
_NO_ANSWER = frozenset({"peer_timeout", "peer_unreachable", "peer_unavailable"})


@dataclass(frozen=True, slots=True)
class PeerScope:
    """What one cached peer token is good for: one peer, one identity, one purpose."""

    base_url: str
    client_id: str
    convenant: str
    purpose: str


class PeerTokens(Protocol):
    """Access tokens from peers' authorization servers, obtained with private_key_jwt."""

    async def access_token(self, scope: PeerScope, *, timeout_s: float) -> str:
        """A valid token; raises :class:`PeerDenied` or :class:`PeerDown`."""

    def forget(self, scope: PeerScope) -> None:
        """Drop a cached token the peer refused."""


class Budget:
    """The time left for one connector call, shared by its retries and steps."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    async def pause(self, attempt: int) -> bool:
        """Sleep before retry ``attempt`` (exponential, jittered); False if no time is left."""
        delay = BASE_DELAY_S * (2**attempt) * (0.5 + random.random())  # noqa: S311
        if delay >= self.left():
            return False
        await asyncio.sleep(delay)
        return True


def employee_at(requester: Requester) -> str:
    """The requesting employee as the peer logs it: ``<party>:<employee>``, header-safe."""
    return f"{requester.party}:{requester.employee}"[:_EMPLOYEE_MAX]


async def call_peer(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: object,
    headers: dict[str, str],
    budget: Budget,
    *,
    retry: bool,
) -> bytes:
    """The answer body of a 200/201; retried on transport errors and 429/5xx when ``retry``."""
    attempt = 0
    while True:
        try:
            return await _once(client, method, url, body, headers, budget)
        except _Retryable as failure:
            if not retry or attempt + 1 >= RETRY_ATTEMPTS or not await budget.pause(attempt):
                raise PeerDown(failure.reason) from None
            attempt += 1


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _once(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: object,
    headers: dict[str, str],
    budget: Budget,
) -> bytes:
    timeout = budget.left()
    if timeout <= 0:
        raise PeerDown("peer_timeout")
    try:
        async with asyncio.timeout(timeout):
            response = await client.send(
                client.build_request(
                    method, url, json=body, headers={**headers, **_RAW}, timeout=timeout
                ),
                stream=True,
                follow_redirects=False,
            )
            try:
                return await _read(response)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        raise _Retryable("peer_timeout") from None
    except httpx.ConnectError:
        raise _Retryable("peer_unreachable") from None
    except (httpx.ProtocolError, httpx.DecodingError):
        raise PeerDown("peer_malformed") from None
    except httpx.TransportError:
        raise _Retryable("peer_unreachable") from None


async def _read(response: httpx.Response) -> bytes:
    status = response.status_code
    if status in (200, 201):
        return await _bounded(response, MAX_ANSWER_BYTES, "peer_too_large")
    if status in _RETRY_STATUSES:
        raise _Retryable("peer_unavailable")
    if status == 401:
        raise PeerDown("peer_unauthorized")
    if status == 403:
        raise PeerDenied("peer_" + await _problem_reason(response, "forbidden"))
    if status == 404:
        raise PeerDenied("peer_not_found")
    if status == 409:
        raise PeerDenied("peer_" + await _problem_reason(response, "conflict"))
    raise PeerDown("peer_bad_status")


async def _bounded(response: httpx.Response, limit: int, reason: str) -> bytes:
    """At most ``limit`` bytes of the answer as sent: a compressed answer is refused unread.

    Read decoded, one network chunk of gzip (64 KiB) inflated to ~64 MB before
    the bound was looked at. A peer is another Ketenpoort, which never
    compresses, and we ask it not to (``Accept-Encoding: identity``).
    """
    if not sent_as_is(response):
        raise PeerDown("peer_malformed")
    content = bytearray()
    async for chunk in response.aiter_raw():
        content += chunk
        if len(content) > limit:
            raise PeerDown(reason)
    return bytes(content)


async def _problem_reason(response: httpx.Response, default: str) -> str:
    """The ``reason`` extension of the peer's problem, if it is one of our short slugs."""
    try:
        problem = json.loads(await _bounded(response, MAX_PROBLEM_BYTES, "peer_too_large"))
    except (PeerDown, ValueError):
        return default
    reason = problem.get("reason") if isinstance(problem, dict) else None
    if isinstance(reason, str) and _REASON.fullmatch(reason):
        return reason
    return default
