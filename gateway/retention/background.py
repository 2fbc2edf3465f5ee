"""The retention job inside every ``serve`` process.

Every instance runs the loop; the run lock lets one of them work at a time,
the others skip that round. The first run comes one interval after start, so
a restart storm does not become a purge storm. The loop outlives any failed
run: a retention job that stops silently is exactly what promise 8 forbids,
so each failure is logged (its type only, never its text) and retried next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from gateway.retention.runner import RetentionRunner

log = logging.getLogger("ketenpoort.retention")


class RetentionJob:
    """``runner`` is asked at each round (the composition root builds it once, on first use)."""

    def __init__(self, runner: Callable[[], RetentionRunner], interval_s: float) -> None:
        self._runner = runner
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> None:
        try:
            report = await self._runner().run()
        except Exception as error:  # noqa: BLE001 - the job must outlive a bad run
            log.error("retention run failed: %s", type(error).__name__)
            return
        if report.skipped:
            log.info("retention run skipped: another instance holds the lock")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.run_once()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="ketenpoort-retention"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
