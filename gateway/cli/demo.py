"""``ketenpoort demo``: the embedded default on one machine, for a first look.

SQLite under ./var/, dev mode, the demo covenant from ./policies/, the demo
partners' keys under ./keys/ (git-ignored) and their source systems as real
HTTP servers on 127.0.0.1:9101-9107. A short walk-through runs against it
through the real OAuth flow, then the gateway keeps serving until Ctrl+C.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from gateway.cli.console import console
from gateway.demo.people import demo_people
from gateway.demo.stack import DEMO_COVENANT, Stack, start_stack

DEMO_DB = Path("var") / "demo.db"
PURPOSE = "pga-casusoverleg"


def _results_table(title: str, body: dict[str, object]) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("bron", "categorie", "status", "reden", "records"):
        table.add_column(column)
    colours = {"ok": "green", "denied": "red", "pending_consent": "yellow"}
    results = body.get("results", [])
    assert isinstance(results, list)
    for result in results:
        status = str(result["status"])
        colour = colours.get(status, "magenta")
        records = result.get("records")
        table.add_row(
            str(result["source"]),
            str(result["category"]),
            f"[{colour}]{status}[/]",
            str(result["reason"]),
            str(len(records)) if isinstance(records, list) else "-",
        )
    return table


def walk_through(stack: Stack) -> str:
    """Open a case as the procesregisseur and show permits, denials and a pending consent."""
    person = demo_people()[0]
    gemeente = stack.client("gemeente-demo", employee="m.jansen")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    opened = gemeente.open_case(
        DEMO_COVENANT,
        PURPOSE,
        person.bsn.reveal(),
        ["politie-demo", "reclassering-demo", "ggz-demo", "woningcorporatie-demo"],
        "casusoverleg",
    )
    opened.raise_for_status()
    case_id = str(opened.json()["id"])
    console.print(f"1. Gemeente (procesregie) opent casus [bold]{case_id}[/] over {person.label}.")
    answer = gemeente.query(
        case_id, ["huisvesting", "psychisch_welzijn", "justitiele_gegevens", "middelengebruik"]
    )
    answer.raise_for_status()
    console.print("2. Gemeente vraagt vier leefgebieden op (woningcorporatie antwoordt te traag):")
    console.print(_results_table("Antwoord per bron en categorie", answer.json()))
    outsider = stack.client("verslavingszorg-demo", employee="k.bakker")
    outsider.login(DEMO_COVENANT, PURPOSE)
    denied = outsider.query(case_id, ["huisvesting"])
    denied.raise_for_status()
    console.print("3. Verslavingszorg doet niet mee aan de casus (need-to-know):")
    console.print(_results_table("Antwoord aan een niet-deelnemer", denied.json()))
    return case_id


def run(port: int) -> None:
    console.rule("[bold]Ketenpoort demo[/]")
    console.print("[yellow]Ontwikkelmodus: synthetische gegevens, niet voor echte personen.[/]")
    stack = start_stack(
        database_url=f"sqlite:///{DEMO_DB}",
        key_dir=Path("keys"),
        policy_dir=Path("policies"),
        gateway_port=port,
        fixed_source_ports=True,
    )
    try:
        walk_through(stack)
        base = stack.base_url
        console.rule("Probeer zelf")
        console.print(f"Gateway (issuer):  {base}   SQLite: {DEMO_DB}")
        console.print(f"Gezondheid:        curl {base}/health/ready")
        console.print(f"API-documentatie:  {base}/docs")
        console.print(f"Privacy-officer:   {base}/privacy  (demo-login fg.demo)")
        console.print(f"Auditlog:          curl {base}/v1/audit/checkpoint")
        console.print(
            f"Toegangstoken:     ketenpoort demo-token --party gemeente-demo --purpose {PURPOSE}"
        )
        console.print(
            "Log controleren:   KETENPOORT_DATABASE_URL=sqlite:///var/demo.db "
            "KETENPOORT_DEV_MODE=true ketenpoort audit verify"
        )
        console.print("Stoppen:           Ctrl+C")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("Demo gestopt.")
    finally:
        stack.stop()
