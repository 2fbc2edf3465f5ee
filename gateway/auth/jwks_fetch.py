"""Partner keys published at a ``jwks_uri``: fetched within a bound, cached with a TTL.

A fetch is bounded in all (``gateway.outbound.bounded_exchange``): ``timeout_s``
from connect to the last byte however slowly the server drips, at most 64 KiB,
never inflated from gzip. A per-read timeout alone let a server that sent a byte
a second hold every token request for its party, and then the worker threads of
every other request, for as long as it liked (review).

A partner rotates by publishing a new key; we notice when an assertion names a
``kid`` we do not hold, but refetch at most every ``min_refetch_s`` so a
stream of made-up ``kid``s cannot turn the gateway into a request amplifier.

The same bound holds when the partner's server is down or slow: a failed fetch
is remembered, and for ``min_refetch_s`` every further ask fails at once
without going out (and one ask at a time goes out per URI). Otherwise junk
assertions under that party's id, each answered with a fetch of up to
``timeout_s``, would be an amplifier and would tie up the token endpoint's
worker threads (review-auth).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.outbound import Answer, OutboundRefused, bounded_exchange, run_exchange

log = logging.getLogger("ketenpoort.auth.jwks")

MAX_JWKS_BYTES = 64 * 1024


class JwksUnavailable(RuntimeError):
    """The partner's key set could not be fetched or is not a JWKS."""


@dataclass
class _Entry:
    document: dict[str, Any]
    fetched_at: float


@dataclass
class _Attempt:
    """The last time a fetch of one URI went out, and whether it failed."""

    at: float
    failed: bool
    lock: threading.Lock


class JwksFetcher:
    def __init__(
        self,
        *,
        ttl_s: float = 300.0,
        timeout_s: float = 3.0,
        min_refetch_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._min_refetch_s = min_refetch_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Entry] = {}
        self._attempts: dict[str, _Attempt] = {}

    def get(self, uri: str, *, want_kid: str | None = None) -> dict[str, Any]:
        """The JWKS at ``uri``; cached unless stale or missing ``want_kid``."""
        with self._lock:
            entry = self._cache.get(uri)
        now = self._clock()
        if entry is not None:
            age = now - entry.fetched_at
            fresh = age < self._ttl_s
            knows_kid = want_kid is None or any(
                key.get("kid") == want_kid for key in entry.document["keys"]
            )
            if fresh and (knows_kid or age < self._min_refetch_s):
                return entry.document
        with self._lock:
            attempt = self._attempts.setdefault(uri, _Attempt(-1e18, False, threading.Lock()))
        with attempt.lock:  # one fetch per URI at a time; the others wait for its outcome
            with self._lock:
                current = self._cache.get(uri)
            if current is not None and current is not entry:
                return current.document  # fetched while we waited
            if attempt.failed and self._clock() - attempt.at < self._min_refetch_s:
                raise JwksUnavailable("partner keys unavailable (recent fetch failed)")
            attempt.at = self._clock()
            try:
                document = self._fetch(uri)
            except JwksUnavailable:
                attempt.failed = True
                raise
            attempt.failed = False
            with self._lock:
                self._cache[uri] = _Entry(document, attempt.at)
        return document

    def _fetch(self, uri: str) -> dict[str, Any]:
        def exchange(client: httpx.AsyncClient) -> Awaitable[Answer]:
            return bounded_exchange(
                client,
                "GET",
                uri,
                headers={"Accept": "application/json"},
                timeout_s=self._timeout_s,
                max_bytes=MAX_JWKS_BYTES,
            )

        try:
            answer = run_exchange(exchange)
        except OutboundRefused as refused:
            log.warning("jwks_uri %s not fetched (%s)", uri, refused.reason)
            if refused.reason == "too_large":
                raise JwksUnavailable("partner key set too large") from None
            raise JwksUnavailable("partner keys unavailable") from None
        if not 200 <= answer.status < 300:
            log.warning("jwks_uri %s answered %s", uri, answer.status)
            raise JwksUnavailable("partner keys unavailable")
        try:
            document = json.loads(answer.body)
        except ValueError:
            raise JwksUnavailable("partner key set is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise JwksUnavailable("partner key set is not a JWKS")
        if not all(isinstance(key, dict) for key in document["keys"]):
            raise JwksUnavailable("partner key set is not a JWKS")
        return document

    def close(self) -> None:
        """Nothing to release: each fetch has a client of its own (fetches are rare)."""
