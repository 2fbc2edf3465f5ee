"""The retention job inside every ``serve`` process.

Every instance runs the loop; the run lock lets one of them work at a time,
the others skip that round. The first run comes one interval after start, so
a restart storm does not become a purge storm. The loop outlives any failed
run: a retention job that stops silently is exactly what promise 8 forbids,
so each failure is logged (its type only, never its text) and retried next round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.periodic import PeriodicJob
from gateway.retention.runner import RetentionRunner

log = logging.getLogger("ketenpoort.retention")


class RetentionJob(PeriodicJob):
    """``runner`` is asked at each round (the composition root builds it once, on first use)."""

    def __init__(self, runner: Callable[[], RetentionRunner], interval_s: float) -> None:
        super().__init__("retention", self._run, interval_s, log)
        self._runner = runner

    async def _run(self) -> None:
        report = await self._runner().run()
        if report.skipped:
            log.info("retention run skipped: another instance holds the lock")
