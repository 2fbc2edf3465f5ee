"""``ketenpoort retention run [--dry-run]``: the background retention job, by hand.

Takes the same run lock as the ``serve`` instances, so running it next to them
never purges twice; ``--dry-run`` shows per rule what would go and changes
nothing (no deletes, no feed cursor moves, no log entries). A run in which a
rule or feed failed, or that lost the run lock, exits 1 after its summary: the
other rules did run, but an operator must look.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from connectors import SourceHttp
from gateway.cli.console import console, err_console
from gateway.cli.jobs import run_job
from gateway.outbound import cookieless_jar
from gateway.retention import Progress as RunProgress
from gateway.retention import RunReport
from gateway.wiring import Runtime
from gateway.wiring.parts import build_retention_runner, build_source_registry

retention_app = typer.Typer(help="Retention: expire and delete what the covenant says must go.")


class _Bars(RunProgress):
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, rule: str, estimate: int) -> None:
        self._tasks[rule] = self._progress.add_task(rule, total=max(estimate, 1))

    def advance(self, rule: str, done: int) -> None:
        self._progress.update(self._tasks[rule], completed=done)

    def finish(self, rule: str) -> None:
        task = self._tasks[rule]
        total = self._progress.tasks[task].total or 1
        self._progress.update(task, total=max(total, self._progress.tasks[task].completed))
        self._progress.update(task, completed=self._progress.tasks[task].total)


async def _run(runtime: Runtime, dry_run: bool) -> RunReport:
    async with (
        SourceHttp() as sources,
        httpx.AsyncClient(follow_redirects=False, cookies=cookieless_jar()) as client,
    ):
        registry = build_source_registry(runtime.foundations, runtime.auth, sources, client)
        runner = build_retention_runner(runtime.foundations, registry)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console) as progress:
            return await runner.run(dry_run=dry_run, progress=_Bars(progress))


def _summary(report: RunReport) -> Table:
    title = "Retention (dry run: would go)" if report.dry_run else "Retention: went"
    table = Table(title=f"{title} — {report.now.isoformat(timespec='seconds')}")
    table.add_column("rule")
    table.add_column("rows", justify="right")
    table.add_column("details")
    table.add_column("status")
    for rule in report.rules:
        details = ", ".join(
            f"{name} {count}" for name, count in sorted(rule.counts.items()) if name != "rows"
        )
        status = "ok" if rule.failed is None else f"failed ({rule.failed})"
        table.add_row(rule.rule, str(rule.rows), details, status)
    return table


@retention_app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would go; change nothing.")
    ] = False,
) -> None:
    """Run every retention rule once (and poll the sources' deletion feeds)."""
    report = run_job(lambda runtime: _run(runtime, dry_run))
    if report.skipped:
        console.print("Another retention run holds the lock; nothing was done.")
        raise typer.Exit(3)
    console.print(_summary(report))
    if report.lease_lost:
        console.print("The run lock was lost: the run stopped; the next run goes on.")
    if report.failed:
        console.print("Retention failed in part: see the rules marked failed and the log.")
        raise typer.Exit(1)
