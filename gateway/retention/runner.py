"""One retention run: every rule in batches, under the run lock, with certificates.

Each batch is its own short transaction (``batch_size`` rows), run in a worker
thread with a pause between batches, so a purge of a million rows never
holds locks or the event loop long enough to block request traffic. After
each rule a real run appends a deletion certificate to the audit log —
``kind=deletion``, the rule, its counts, start and end time, nothing personal.
A dry run reads only: no deletes, no feed cursor moves, no log entries.

One failing rule (or feed) does not stop the others: its error type is logged
(never its text or a traceback: either may quote personal data), its
certificate says ``failed`` with what it did before the error, and the run goes
on and reports itself failed. Before, one error stopped every later rule, every
run (review-b F1). Losing the run lock is the exception: the run stops at once,
between two batches, so nothing is done twice or half.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import anyio

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog
from gateway.policy.compiled import CompiledPolicy
from gateway.retention.case_rules import (
    ClosedCases,
    CriminalLogKeys,
    DecidedRightsRequests,
    OrphanSubjectKeys,
    StaleCases,
)
from gateway.retention.deletions import DeletionFeeds
from gateway.retention.lease import LeaseLost, RunLock
from gateway.retention.rules import (
    CopyDropMarks,
    ExpiredConsents,
    ExpiredCopies,
    Key,
    ReplayLeftovers,
    Rule,
    RuleContext,
)
from gateway.retention.withholding_rule import ExpiredPartnerWithholdings, ExpiredWithholdings
from gateway.storage.db import Database

log = logging.getLogger("ketenpoort.retention")
SOURCE_DELETIONS = "source_deletions"


def default_rules() -> list[Rule]:
    """Order matters little; source deletions run first, before anything else is judged.

    Expired withholdings (a source's, the OvJ's) go before the orphan-key rule,
    which counts a withholding as something that still ties a person's key (same run).
    """
    return [
        ExpiredCopies(),
        CopyDropMarks(),
        ClosedCases(),
        StaleCases(),
        ExpiredConsents(),
        DecidedRightsRequests(),
        CriminalLogKeys(),
        ExpiredPartnerWithholdings(),
        ExpiredWithholdings(),
        OrphanSubjectKeys(),
        ReplayLeftovers(),
    ]


@dataclass
class RuleReport:
    rule: str
    counts: Counter[str] = field(default_factory=Counter)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    failed: str | None = None
    """The error type(s) that stopped this rule (or a feed of it); None when it completed."""

    @property
    def rows(self) -> int:
        return self.counts["rows"]


@dataclass
class RunReport:
    run_id: str
    dry_run: bool
    skipped: bool
    now: datetime
    rules: list[RuleReport] = field(default_factory=list)
    lease_lost: bool = False
    """The run lock was lost mid-run: the run stopped there; the rest waits for the next."""

    def rule(self, name: str) -> RuleReport:
        return next(report for report in self.rules if report.rule == name)

    @property
    def removed(self) -> bool:
        """Whether a rule removed anything: shredded keys, copies, rows (then a WAL checkpoint)."""
        return any(rule.rows > 0 or rule.counts["keys_shredded"] > 0 for rule in self.rules)

    @property
    def failed(self) -> bool:
        """Whether anything went wrong: an operator must look (the CLI exits non-zero)."""
        return self.lease_lost or any(rule.failed for rule in self.rules)


class Progress:
    """What a CLI progress bar needs; the background job passes nothing."""

    def start(self, rule: str, estimate: int) -> None: ...

    def advance(self, rule: str, done: int) -> None: ...

    def finish(self, rule: str) -> None: ...


class RetentionRunner:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        policy: Callable[[], CompiledPolicy],
        *,
        feeds: DeletionFeeds | None = None,
        rules: Sequence[Rule] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = 1000,
        pause_s: float = 0.01,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._db = db
        self._audit = audit
        self._policy = policy
        self._feeds = feeds
        self._rules = list(rules) if rules is not None else default_rules()
        self._now = now
        self.batch_size = batch_size
        self.pause_s = pause_s
        self.lock = RunLock(db)

    @property
    def rule_names(self) -> list[str]:
        names = [rule.name for rule in self._rules]
        return [SOURCE_DELETIONS, *names] if self._feeds is not None else names

    async def run(self, *, dry_run: bool = False, progress: Progress | None = None) -> RunReport:
        """One run; ``skipped`` when another runner holds the lock (nothing done)."""
        sink = progress or Progress()
        report = RunReport(secrets.token_hex(8), dry_run, skipped=False, now=self._now())
        with self.lock.hold() as mine:
            if not mine:
                report.skipped = True
                return report
            try:
                ctx = RuleContext(now=report.now, policy=self._policy())
                if self._feeds is not None:
                    await self._isolated(
                        SOURCE_DELETIONS, report, dry_run, sink, self._source_deletions
                    )
                for rule in self._rules:
                    work = partial(self._run_rule, rule, ctx)
                    await self._isolated(rule.name, report, dry_run, sink, work)
            except LeaseLost:
                report.lease_lost = True
                log.error("retention run %s stopped: the run lock was lost", report.run_id)
        if not dry_run and report.removed:
            # Shredded keys and removed copies out of the SQLite WAL too (review-c F6);
            # committed already, so a failed checkpoint only waits for the next one.
            await anyio.to_thread.run_sync(self._db.flush_erased)
        if report.failed:
            failed = [rule.rule for rule in report.rules if rule.failed]
            log.error("retention run %s failed: %s", report.run_id, ", ".join(failed) or "-")
        return report

    async def _isolated(
        self,
        name: str,
        report: RunReport,
        dry_run: bool,
        sink: Progress,
        work: Callable[[RuleReport, bool, Progress], Awaitable[None]],
    ) -> None:
        """Run one rule; an error ends that rule only, with a ``failed`` certificate.

        A lost lock is certified too (the batches before it did go), then stops the run.
        """
        result = RuleReport(name, started_at=datetime.now(UTC))
        report.rules.append(result)
        lost: LeaseLost | None = None
        try:
            await work(result, dry_run, sink)
        except Exception as error:  # noqa: BLE001 - one rule must not stop the others
            result.failed = type(error).__name__
            log.error("retention %s failed: %s", name, result.failed)
            lost = error if isinstance(error, LeaseLost) else None
        result.finished_at = datetime.now(UTC)
        if not dry_run:
            await self._certify(result)
        if lost is not None:
            raise lost

    async def _source_deletions(self, result: RuleReport, dry_run: bool, sink: Progress) -> None:
        assert self._feeds is not None
        sink.start(SOURCE_DELETIONS, len(self._feeds.sources()))
        feed = await self._feeds.poll(dry_run=dry_run, keep=self._keeper(dry_run))
        result.counts.update(
            {
                "rows": feed.copies,
                "events": feed.events,
                "unavailable": feed.unavailable,
                "deferred": feed.deferred,
                "failed": len(feed.failed),
            }
        )
        if feed.failed:
            result.failed = ",".join(sorted(set(feed.failed)))
        sink.advance(SOURCE_DELETIONS, len(self._feeds.sources()))
        sink.finish(SOURCE_DELETIONS)

    async def _run_rule(
        self, rule: Rule, ctx: RuleContext, result: RuleReport, dry_run: bool, sink: Progress
    ) -> None:
        estimate = await anyio.to_thread.run_sync(self._estimate, rule, ctx)
        sink.start(rule.name, estimate)
        after: Key | None = None
        while True:
            counts, after = await anyio.to_thread.run_sync(self._batch, rule, ctx, after, dry_run)
            result.counts.update(counts)
            sink.advance(rule.name, result.rows)
            if after is None:
                break
            if self.pause_s > 0:
                await anyio.sleep(self.pause_s)
        sink.finish(rule.name)

    def _keeper(self, dry_run: bool) -> Callable[[], None]:
        """Before each batch or feed page of a real run: the lock still ours, or stop."""
        return (lambda: None) if dry_run else self.lock.keep

    def _estimate(self, rule: Rule, ctx: RuleContext) -> int:
        with self._db.session() as session:
            return rule.estimate(session, ctx)

    def _batch(
        self, rule: Rule, ctx: RuleContext, after: Key | None, dry_run: bool
    ) -> tuple[dict[str, int], Key | None]:
        """One page in one transaction: judged and (unless dry) removed together."""
        started = time.monotonic()
        self._keeper(dry_run)()
        with self._db.session() as session:
            page = rule.page(session, ctx, after, self.batch_size)
            if dry_run or not page.keys:
                counts = {"rows": len(page.keys)}
            else:
                counts = rule.purge(session, ctx, page.keys)
        log.debug("retention %s: batch in %.3f s", rule.name, time.monotonic() - started)
        return counts, page.cursor

    async def _certify(self, result: RuleReport) -> None:
        """The deletion certificate: rule, counts, time; identifiers of nothing removed.

        A failed rule's says ``failed`` and the error type, with what went before
        the error. If even that cannot be written, the error type is logged and the
        run goes on (it reports itself failed already).
        """
        assert result.started_at is not None and result.finished_at is not None
        details: dict[str, str | int | bool | None] = {
            "rule": result.rule,
            "started_at": result.started_at.isoformat(),
            "finished_at": result.finished_at.isoformat(),
        }
        details.update({name: int(count) for name, count in sorted(result.counts.items())})
        if result.failed is not None:
            details["error"] = result.failed
        event = AuditEvent(
            kind="deletion",
            outcome="certificate" if result.failed is None else "failed",
            reason=result.rule,
            records=result.rows,
            details=details,
        )
        try:
            await self._audit.append([event])
        except Exception as error:  # noqa: BLE001 - the other rules still run
            log.error("retention %s: no certificate: %s", result.rule, type(error).__name__)
            result.failed = result.failed or type(error).__name__
            return
        log.info("retention %s: %s", result.rule, dict(result.counts))
