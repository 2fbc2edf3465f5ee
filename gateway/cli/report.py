"""``ketenpoort report annual|privacy`` and ``ketenpoort register export`` (docs/reports.md).

Operator tools on the gateway's own database: the figures are protected
exactly as on the API and the page (small counts are ``< 5``), and every
report run is logged as a read (channel ``cli``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from gateway.audit.models import AuditEntry
from gateway.audit.officer import Reader
from gateway.cli.console import err_console, fail
from gateway.cli.jobs import job_runtime
from gateway.reports.desk import ReportDesk, UnknownReport
from gateway.reports.logboek import logboek_records, to_jsonl
from gateway.reports.model import Report
from gateway.reports.output import register_html, to_csv, to_html, to_json
from gateway.reports.period import BadPeriod, Period
from gateway.wiring import Runtime

report_app = typer.Typer(help="Figures for the stuurgroep and the FG.", no_args_is_help=True)
register_app = typer.Typer(help="The AVG art. 30 register of processing.", no_args_is_help=True)
OPERATOR = Reader(party=None, employee="operator", covenants=(), channel="cli")


class Format(StrEnum):
    csv = "csv"
    json = "json"
    html = "html"


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


def _count(runtime: Runtime, convenant: str, period: Period) -> int:
    with runtime.db.session() as session:
        statement = (
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.convenant == convenant,
                AuditEntry.time >= period.start,
                AuditEntry.time < period.end,
            )
        )
        return int(session.scalar(statement) or 0)


def _period(year: int | None, date_from: str | None, date_to: str | None) -> Period:
    from datetime import date

    try:
        if date_from or date_to:
            if not (date_from and date_to):
                fail("give both --from and --to, or --year")
            return Period.of(date.fromisoformat(date_from), date.fromisoformat(date_to))
        if year is None:
            fail("give --year (or --from and --to)")
        return Period.year(year)
    except (BadPeriod, ValueError) as exc:
        fail(f"invalid period: {exc}")


def render(report: Report, fmt: Format, title: str) -> str:
    if fmt is Format.csv:
        return to_csv(report)
    if fmt is Format.json:
        return to_json(report) + "\n"
    return to_html(report, title)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    err_console.print(f"Geschreven: {out}")


def _run_report(kind: str, convenant: str, period: Period, fmt: Format, out: Path | None) -> None:
    with job_runtime("nothing was reported") as runtime:
        desk: ReportDesk = runtime.report_desk
        total = _count(runtime, convenant, period)
        try:
            with _progress(f"Rapportage {kind} {convenant}", total) as tick:
                report = desk.operator_report(OPERATOR, kind, convenant, period, tick)
        except UnknownReport:
            fail(f"unknown covenant {convenant!r}")
        covenant = runtime.policy.current.covenant(convenant)
        title = covenant.title if covenant is not None else convenant
        _write(render(report, fmt, title), out)


CovenantOpt = Annotated[str, typer.Option("--convenant", help="Covenant id.")]
YearOpt = Annotated[int | None, typer.Option("--year", min=2000, max=2100)]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day (YYYY-MM-DD); from the 1st of its month.")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); to the end of its month.")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="csv, json or html.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="File to write (default stdout).")]


def _report_command(kind: str, summary: str) -> None:
    """Registers ``report <kind>``: every report takes the same period, format and file."""

    def command(
        convenant: CovenantOpt,
        year: YearOpt = None,
        date_from: FromOpt = None,
        date_to: ToOpt = None,
        fmt: FormatOpt = Format.csv,
        out: OutOpt = None,
    ) -> None:
        _run_report(kind, convenant, _period(year, date_from, date_to), fmt, out)

    report_app.command(kind, help=summary)(command)


_report_command(
    "annual", "Referrals, triage, phases, closure, municipalities, case types, ages, cross-region."
)
_report_command(
    "privacy", "Disclosures, denials, OvJ consents, rights-request deadlines, federation traffic."
)


@report_app.command("logboek")
def logboek(
    convenant: CovenantOpt,
    year: YearOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    out: OutOpt = None,
) -> None:
    """The log of a period as Logboek Dataverwerkingen records (JSON Lines)."""
    period = _period(year, date_from, date_to)
    with job_runtime("nothing was reported") as runtime:
        total = _count(runtime, convenant, period)
        lines: list[str] = []
        with _progress("Logboek Dataverwerkingen", total) as tick, runtime.db.session() as session:
            records = logboek_records(session, runtime.audit.vault, convenant, period, tick)
            lines.extend(to_jsonl(records))
        runtime.audit.append_sync(
            [runtime.report_desk.read_event(OPERATOR, convenant, "logboek", period, len(lines))]
        )
        _write("".join(lines), out)


@register_app.command("export")
def register_export(
    convenant: Annotated[
        str | None, typer.Option("--convenant", help="Default: every covenant.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="json or html.")] = Format.json,
    out: OutOpt = None,
) -> None:
    """The AVG art. 30 register, per purpose, from the covenants in force."""
    import json

    if fmt is Format.csv:
        fail("the register is exported as json or html")
    with job_runtime("nothing was reported") as runtime:
        desk = runtime.report_desk
        ids = [convenant] if convenant else sorted(runtime.policy.current.covenants)
        try:
            registers = [desk.operator_register(OPERATOR, cid) for cid in ids]
        except UnknownReport:
            fail(f"unknown covenant {convenant!r}")
        if fmt is Format.json:
            text = (
                json.dumps(
                    [r.as_json() for r in registers]
                    if convenant is None
                    else registers[0].as_json(),
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n"
            )
        else:
            text = "\n".join(register_html(r) for r in registers)
        _write(text, out)
