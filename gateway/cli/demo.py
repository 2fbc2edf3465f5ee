"""``ketenpoort demo``: the embedded default on one machine, for a first look.

SQLite under ./var/, dev mode, the demo covenant from ./policies/, the demo
partners' keys under ./keys/ (git-ignored) and their source systems as real
HTTP servers on 127.0.0.1:9101-9107. A short walk-through runs against it
through the real OAuth flow, then "Probeer zelf" prints commands that run as
printed (gateway/demo/guide.py) and the logins for every role's page, and the
gateway keeps serving until Ctrl+C.

``--workdir`` puts the database, keys and a copy of the covenant files in
another directory, with the sources on free ports: a second demo next to the
first one, or a test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from gateway.api.docs import docs_enabled
from gateway.cli.console import console
from gateway.cli.serve import prepare
from gateway.demo import guide
from gateway.demo.stack import DEMO_COVENANT, Stack, start_stack
from gateway.demodata.people import demo_people

DEMO_DB = Path("var") / "demo.db"
PURPOSE = "pga-casusoverleg"
PARTY = "gemeente-demo"
EMPLOYEE = "m.jansen"
COLUMNS = ("bron", "categorie", "status", "reden", "records")
_COLOURS = {"ok": "green", "denied": "red", "pending_consent": "yellow"}


def _rows(body: dict[str, object]) -> list[tuple[str, str, str, str, str]]:
    results = body.get("results", [])
    assert isinstance(results, list)
    rows = []
    for result in results:
        records = result.get("records")
        rows.append(
            (
                str(result["source"]),
                str(result["category"]),
                str(result["status"]),
                str(result["reason"]),
                str(len(records)) if isinstance(records, list) else "-",
            )
        )
    return rows


def _results_table(title: str, rows: list[tuple[str, str, str, str, str]]) -> Table:
    table = Table(title=title, show_lines=False)
    for column in COLUMNS:
        table.add_column(column, no_wrap=True)
    for source, category, status, reason, records in rows:
        colour = _COLOURS.get(status, "magenta")
        table.add_row(source, category, f"[{colour}]{status}[/]", reason, records)
    return table


def _table_width(rows: list[tuple[str, str, str, str, str]]) -> int:
    """Columns the table needs uncut: each cell plus its padding and border."""
    widths = [max(len(cell) for cell in column) for column in zip(COLUMNS, *rows, strict=True)]
    return sum(widths) + 3 * len(widths) + 1


def print_results(out: Console, title: str, body: dict[str, object]) -> None:
    """A table when it fits the terminal, else one line per result: never a cut-off value."""
    rows = _rows(body)
    if _table_width(rows) <= out.width:
        out.print(_results_table(title, rows))
        return
    out.print(f"[bold]{title}[/]")
    for source, category, status, reason, records in rows:
        colour = _COLOURS.get(status, "magenta")
        out.print(
            f"- {source} / {category}: [{colour}]{status}[/] ({reason}), records: {records}",
            highlight=False,
        )


def walk_through(stack: Stack) -> str:
    """A police referral, triage by the procesregisseur, then permits, denials and a pending
    consent in the casusoverleg."""
    person = demo_people()[0]
    politie = stack.client("politie-demo", employee="agent.devries")
    politie.login(DEMO_COVENANT, PURPOSE)
    referred = politie.call(
        "POST",
        "/v1/cases",
        {
            "convenant": DEMO_COVENANT,
            "purpose": PURPOSE,
            "subject": {"bsn": person.bsn.reveal()},
            "phase": "aanmelding",
            "case_type": "pga",
            "municipality": "GM0106",
        },
    )
    referred.raise_for_status()
    case_id = str(referred.json()["id"])
    console.print(
        f"1. Politie meldt {person.label} aan bij het Zorg- en Veiligheidshuis: {case_id}."
    )
    gemeente = stack.client(PARTY, employee=EMPLOYEE)
    gemeente.login(DEMO_COVENANT, PURPOSE)
    steps = [
        ("POST", "triage", {"outcome": "opgepakt", "reason": "meerdere leefgebieden en ketens"}),
        ("PATCH", "", {"phase": "casusoverleg", "reason": "casusoverleg gepland"}),
        *(
            ("POST", "participants", {"party": party})
            for party in ("politie-demo", "reclassering-demo", "ggz-demo", "woningcorporatie-demo")
        ),
    ]
    for method, action, body in steps:
        path = f"/v1/cases/{case_id}" + (f"/{action}" if action else "")
        gemeente.call(method, path, body).raise_for_status()
    console.print(
        "   Gemeente (procesregie) pakt de aanmelding op in de triage, zet de casus in het "
        "casusoverleg en nodigt politie, reclassering, GGZ en woningcorporatie uit."
    )
    ground = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/grounds",
        {
            "subject": "s1",
            "ground": "toestemming_betrokkene",
            "reference": "toestemmingsformulier privacy getekend (demo)",
            "categories": ["psychisch_welzijn", "middelengebruik"],
        },
    )
    ground.raise_for_status()
    console.print(
        "   De gemeente legt de getekende toestemming van de betrokkene vast "
        "(nodig voor GGZ- en verslavingszorggegevens)."
    )
    answer = gemeente.query(
        case_id,
        ["huisvesting", "psychisch_welzijn", "justitiele_gegevens", "middelengebruik"],
        motivation={"code": "plan_van_aanpak", "text": "nodig voor het plan van aanpak (demo)"},
    )
    answer.raise_for_status()
    console.print("2. Gemeente vraagt vier leefgebieden op (woningcorporatie antwoordt te traag):")
    print_results(console, "Antwoord per bron en categorie", answer.json())
    outsider = stack.client("verslavingszorg-demo", employee="k.bakker")
    outsider.login(DEMO_COVENANT, PURPOSE)
    denied = outsider.query(case_id, ["huisvesting"])
    denied.raise_for_status()
    console.print("3. Verslavingszorg doet niet mee aan de casus (need-to-know):")
    print_results(console, "Antwoord aan een niet-deelnemer", denied.json())
    return case_id


@dataclass(frozen=True)
class _Layout:
    database: Path
    key_dir: Path
    policy_dir: Path
    workdir: Path | None


def _layout(workdir: Path | None) -> _Layout:
    if workdir is None:
        return _Layout(DEMO_DB, guide.DEFAULT_KEY_DIR, guide.DEFAULT_POLICY_DIR, None)
    root = workdir.resolve()
    (root / "var").mkdir(parents=True, exist_ok=True)
    return _Layout(root / "var" / "demo.db", root / "keys", root / "policies", root)


def print_guide(stack: Stack, case_id: str, database: Path) -> None:
    """The "Probeer zelf" block: pages, logins, and commands that run exactly as printed."""
    base = stack.base_url
    place = guide.DemoPlace(
        base_url=base,
        port=int(base.rsplit(":", 1)[1]),
        database_url=f"sqlite:///{database}",
        key_dir=stack.settings.key_dir,
        policy_dir=stack.settings.policy_dir,
    )
    program = guide.ketenpoort_program()
    console.rule("Probeer zelf")
    console.print(f"Startpagina:  {base}/   (SQLite: {database})", soft_wrap=True)
    if docs_enabled(stack.settings):
        console.print(f"Partner-API:  {base}/docs  (API-documentatie)", soft_wrap=True)
    console.print()
    console.print("[bold]Inloggen op de webpagina's[/] (kies de gebruiker bij de demo-login):")
    for login in guide.logins(stack.runtime.policy.current):
        console.print(
            f"- {login.role}: {base}{login.page}  login [bold]{login.username}[/]",
            soft_wrap=True,
            highlight=False,
        )
        console.print(Padding(f"Probeer: {login.try_this}.", (0, 0, 0, 2)), highlight=False)
    console.print()
    console.print(
        f"[bold]Als partnersysteem[/] ({PARTY}, medewerker {EMPLOYEE}); "
        "plak de regels na '$ ' in één shell, in deze volgorde:"
    )
    for explanation, command in guide.commands(place, case_id, PARTY, PURPOSE, EMPLOYEE, program):
        console.print(f"# {explanation}", style="dim", highlight=False)
        # soft_wrap and no markup: the terminal may wrap the line, but we never break it.
        console.print(guide.COMMAND_PREFIX + command, soft_wrap=True, markup=False, highlight=False)
    console.print()
    console.print("Stoppen:      Ctrl+C")


def simulate(stack: Stack, cases: int) -> None:
    """A year of synthetic activity through the real API, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from gateway.demo.simulate import simulate_year

    with Progress(
        "[bold]Gesimuleerd jaar[/]",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("simulate", total=cases)
        result = simulate_year(stack, cases, progress=lambda n: progress.update(task, completed=n))
    console.print(
        f"{result.cases} aanmeldingen, {result.taken_up} opgepakt, {result.not_taken_up} niet "
        f"opgepakt, {result.closed} afgesloten, {result.queries} bevragingen, "
        f"{result.consents} OvJ-besluiten."
    )
    if result.errors:
        console.print(
            f"[yellow]{len(result.errors)} stappen geweigerd[/] ({result.errors[0]}, ...)"
        )
    console.print(
        "Rapportage: [bold]ketenpoort report annual --convenant zvh-demo --year "
        f"{datetime.now(UTC).year}[/] of /rapportage (login stuurgroep.demo)."
    )


def run(port: int, workdir: Path | None = None, simulate_cases: int = 0) -> None:
    console.rule("[bold]Ketenpoort demo[/]")
    console.print("[yellow]Ontwikkelmodus: synthetische gegevens, niet voor echte personen.[/]")
    layout = _layout(workdir)
    stack = start_stack(
        prepare=prepare,
        database_url=f"sqlite:///{layout.database}",
        key_dir=layout.key_dir,
        policy_dir=Path("policies"),
        workdir=layout.workdir,
        gateway_port=port,
        fixed_source_ports=workdir is None,
    )
    try:
        case_id = walk_through(stack)
        if simulate_cases:
            simulate(stack, simulate_cases)
        print_guide(stack, case_id, layout.database)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("Demo gestopt.")
    finally:
        stack.stop()
