"""Slow down junk at the token endpoint: per client address and for the endpoint as a whole.

Counted per *real* client address (see :mod:`gateway.auth.client_address`),
never per claimed client id: anyone can write a partner's id into an unsigned
assertion, and counting those against the partner would let a stranger lock
the partner out. A global budget caps failures from many addresses at once.

Being over budget does not refuse a request outright: the token server still
lets through an assertion whose signature verifies with a key the claimed party
registered (see ``GatewayAuthorizationServer.token_response``), so a partner
is never refused because of someone else's failures, not even one sharing
its address. The counts live in process memory: each gateway instance
throttles on its own, which bounds the rate per instance and costs no
database write per failure.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_TRACKED = 10_000
GLOBAL_KEY = "*"


class FailureThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        max_global_failures: int = 100,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_global_failures = max_global_failures
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._global: deque[float] = deque()

    def retry_after(self, address: str) -> int | None:
        """Seconds to wait when ``address`` (or the endpoint as a whole) is over budget."""
        now = self._clock()
        with self._lock:
            waits: list[int] = []
            recent = self._recent(address, now)
            if recent is not None and len(recent) >= self.max_failures:
                waits.append(self._wait(recent, now))
            self._trim(self._global, now)
            if len(self._global) >= self.max_global_failures:
                waits.append(self._wait(self._global, now))
            return max(waits) if waits else None

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._evict(now)
            recent = self._recent(address, now)
            if recent is None:
                recent = self._failures[address] = deque()
            recent.append(now)
            while len(recent) > self.max_failures:
                recent.popleft()
            self._global.append(now)
            self._trim(self._global, now)
            while len(self._global) > self.max_global_failures:
                self._global.popleft()

    def _wait(self, recent: deque[float], now: float) -> int:
        return max(1, int(recent[0] + self.window_s - now) + 1)

    def _trim(self, recent: deque[float], now: float) -> None:
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        recent = self._failures.get(key)
        if recent is None:
            return None
        self._trim(recent, now)
        return recent

    def _evict(self, now: float) -> None:
        for key in list(self._failures):
            recent = self._recent(key, now)
            if not recent:
                del self._failures[key]
        if len(self._failures) >= MAX_TRACKED:
            self._failures.clear()
