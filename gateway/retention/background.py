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

from gateway.brokering.services import brokering_services
from gateway.retention.runner import RetentionRunner
from gateway.retention.wiring import build_runner
from gateway.runtime import Runtime

log = logging.getLogger("ketenpoort.retention")


class RetentionJob:
    def __init__(self, runtime: Runtime, interval_s: float | None = None) -> None:
        self._runtime = runtime
        self._interval_s = interval_s or runtime.settings.retention_interval_s
        self._task: asyncio.Task[None] | None = None
        self._runner: RetentionRunner | None = None

    def _get_runner(self) -> RetentionRunner:
        if self._runner is None:
            registry = brokering_services(self._runtime).registry
            self._runner = build_runner(self._runtime, registry)
        return self._runner

    async def run_once(self) -> None:
        try:
            report = await self._get_runner().run()
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
