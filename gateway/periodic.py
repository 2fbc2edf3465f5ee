"""A job every ``serve`` process runs every ``interval_s``, outliving any failed round.

Retention and the pull of peer regions' outcomes share this loop: a background
job that stops silently is exactly what promises 8 and 9 forbid, so a failed
round is only logged (its type, never its text: it may carry personal data)
and retried next round. The first round comes one interval after start, so a
restart storm does not become a storm of rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class PeriodicJob:
    """Runs ``round`` every ``interval_s`` on the running event loop until :meth:`stop`."""

    def __init__(
        self,
        name: str,
        round: Callable[[], Awaitable[object]],
        interval_s: float,
        log: logging.Logger,
    ) -> None:
        self._name = name
        self._round = round
        self._interval_s = interval_s
        self._log = log
        self._task: asyncio.Task[None] | None = None

    async def run_round(self) -> object | None:
        """One round; ``None`` when it failed (logged)."""
        try:
            return await self._round()
        except Exception as error:  # noqa: BLE001 - the job must outlive a bad round
            self._log.error("%s round failed: %s", self._name, type(error).__name__)
            return None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.run_round()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name=f"ketenpoort-{self._name}"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
