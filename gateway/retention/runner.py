"""One retention run: every rule in batches, under the run lock, with certificates.

Each batch is its own short transaction (``batch_size`` rows), run in a worker
thread with a pause between batches, so a purge of a million rows never
holds locks or the event loop long enough to block request traffic. After
each rule a real run appends a deletion certificate to the audit log —
``kind=deletion``, the rule, its counts, start and end time, nothing personal.
A dry run reads only: no deletes, no feed cursor moves, no log entries.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
from gateway.retention.lease import RunLock
from gateway.retention.rules import (
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

    def rule(self, name: str) -> RuleReport:
        return next(report for report in self.rules if report.rule == name)


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
            ctx = RuleContext(now=report.now, policy=self._policy())
            if self._feeds is not None:
                report.rules.append(await self._source_deletions(dry_run, sink))
            for rule in self._rules:
                report.rules.append(await self._run_rule(rule, ctx, dry_run, sink))
        return report

    async def _source_deletions(self, dry_run: bool, sink: Progress) -> RuleReport:
        assert self._feeds is not None
        result = RuleReport(SOURCE_DELETIONS, started_at=datetime.now(UTC))
        sink.start(SOURCE_DELETIONS, len(self._feeds.sources()))
        feed = await self._feeds.poll(dry_run=dry_run)
        result.counts.update(
            {"rows": feed.copies, "events": feed.events, "unavailable": feed.unavailable}
        )
        sink.advance(SOURCE_DELETIONS, len(self._feeds.sources()))
        sink.finish(SOURCE_DELETIONS)
        result.finished_at = datetime.now(UTC)
        if not dry_run:
            await self._certify(result, "feeds")
        return result

    async def _run_rule(
        self, rule: Rule, ctx: RuleContext, dry_run: bool, sink: Progress
    ) -> RuleReport:
        result = RuleReport(rule.name, started_at=datetime.now(UTC))
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
        result.finished_at = datetime.now(UTC)
        if not dry_run:
            await self._certify(result, rule.name)
        return result

    def _estimate(self, rule: Rule, ctx: RuleContext) -> int:
        with self._db.session() as session:
            return rule.estimate(session, ctx)

    def _batch(
        self, rule: Rule, ctx: RuleContext, after: Key | None, dry_run: bool
    ) -> tuple[dict[str, int], Key | None]:
        """One page in one transaction: judged and (unless dry) removed together."""
        started = time.monotonic()
        with self._db.session() as session:
            page = rule.page(session, ctx, after, self.batch_size)
            if dry_run or not page.keys:
                counts = {"rows": len(page.keys)}
            else:
                counts = rule.purge(session, ctx, page.keys)
        if not dry_run:
            self.lock.renew()
        log.debug("retention %s: batch in %.3f s", rule.name, time.monotonic() - started)
        return counts, page.cursor

    async def _certify(self, result: RuleReport, what: str) -> None:
        """The deletion certificate: rule, counts, time; identifiers of nothing removed."""
        assert result.started_at is not None and result.finished_at is not None
        details: dict[str, str | int | bool | None] = {
            "rule": result.rule,
            "started_at": result.started_at.isoformat(),
            "finished_at": result.finished_at.isoformat(),
        }
        details.update({name: int(count) for name, count in sorted(result.counts.items())})
        await self._audit.append(
            [
                AuditEvent(
                    kind="deletion",
                    outcome="certificate",
                    reason=result.rule,
                    records=result.rows,
                    details=details,
                )
            ]
        )
        log.info("retention %s (%s): %s", result.rule, what, dict(result.counts))
