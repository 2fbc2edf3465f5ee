"""Slow down guessing: too many failed client authentications and a client must wait.

Counted per claimed client id and remote address, so someone who merely knows
a partner's id cannot lock that partner out from elsewhere. The count lives in
process memory: each gateway instance throttles on its own, which bounds the
rate per instance and costs no database write per failure.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_TRACKED = 10_000


class FailureThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, client_id: str, address: str) -> int | None:
        """Seconds to wait when the client is throttled, else ``None``."""
        now = self._clock()
        with self._lock:
            recent = self._recent((client_id, address), now)
            if recent is None or len(recent) < self.max_failures:
                return None
            return max(1, int(recent[0] + self.window_s - now) + 1)

    def failed(self, client_id: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._evict(now)
            key = (client_id, address)
            recent = self._recent(key, now)
            if recent is None:
                recent = self._failures[key] = deque()
            recent.append(now)

    def succeeded(self, client_id: str, address: str) -> None:
        with self._lock:
            self._failures.pop((client_id, address), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        recent = self._failures.get(key)
        if recent is None:
            return None
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        return recent

    def _evict(self, now: float) -> None:
        for key in list(self._failures):
            recent = self._recent(key, now)
            if not recent:
                del self._failures[key]
        if len(self._failures) >= MAX_TRACKED:
            self._failures.clear()
