"""The retention job inside every ``serve`` process.

Every instance runs the loop; the run lock lets one of them work at a time,
the others skip that round. The first run comes one interval after start, so
a restart storm does not become a purge storm. The loop outlives any failed
run: a retention job that stops silently is exactly what promise 8 forbids,
so each failure is logged (its type only, never its text) and retried next round.
Inside a run each rule and each source feed is isolated the same way (see runner.py).
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
        # A run with a failed rule has logged which (by type) and certified it ``failed``;
        # the others did run, and the next round tries the failed ones again.
