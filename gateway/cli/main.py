"""Entry point of the ``ketenpoort`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import audit as audit_cmd
from gateway.cli import consent as consent_cmd
from gateway.cli import keys as keys_cmd
from gateway.cli import policy as policy_cmd
from gateway.cli import report as report_cmd
from gateway.cli import retention as retention_cmd
from gateway.cli import rights as rights_cmd
from gateway.cli import serve as serve_cmd
from gateway.cli.console import console, fail, load_settings
from gateway.storage import migrate

app = typer.Typer(
    name="ketenpoort",
    help="Ketenpoort: need-to-know data exchange for Zorg- en Veiligheidshuizen.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
DEMO_KEYS = Path("keys")
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_cmd.audit_app, name="audit")
app.add_typer(consent_cmd.consent_app, name="consent")
app.add_typer(keys_cmd.keys_app, name="keys")
app.add_typer(policy_cmd.policy_app, name="policy")
app.add_typer(retention_cmd.retention_app, name="retention")
app.add_typer(rights_cmd.rights_app, name="rights")
app.add_typer(report_cmd.report_app, name="report")
app.add_typer(report_cmd.register_app, name="register")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, max=64, help="Worker processes sharing the port (PostgreSQL only)."
    ),
) -> None:
    """Run migrations, create the gateway's keys on first start, then serve."""
    serve_cmd.run(load_settings(), host, port, workers)


@app.command()
def demo(
    port: int = typer.Option(
        8080, min=0, max=65535, help="Gateway port on 127.0.0.1 (0: a free one)."
    ),
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Database, keys and a copy of the covenants here, sources on free ports "
            "(default: ./var, ./keys, ./policies, sources on 9101-9107).",
        ),
    ] = None,
    simulate_year: Annotated[
        bool,
        typer.Option(
            "--simulate-year",
            help="After the walk-through, generate a year of synthetic activity "
            "through the real API (for reports and /rapportage).",
        ),
    ] = False,
    cases: Annotated[
        int, typer.Option(min=1, max=5000, help="Referrals in the simulated year.")
    ] = 300,
) -> None:
    """Start the embedded default: SQLite, demo covenant, demo sources, walk-through."""
    from gateway.cli import demo as demo_cmd

    demo_cmd.run(port, workdir, simulate_cases=cases if simulate_year else 0)


@app.command("demo-token")
def demo_token(
    party: str = typer.Option("gemeente-demo", help="Demo party to act as."),
    purpose: str = typer.Option("pga-casusoverleg", help="Purpose in the demo covenant."),
    port: int = typer.Option(8080, min=1, max=65535, help="Port of the running demo."),
    keys: Annotated[Path, typer.Option(help="Key directory of the running demo.")] = DEMO_KEYS,
) -> None:
    """Print an access token for a demo partner (needs a running `ketenpoort demo`)."""
    import httpx

    from gateway.demo.partner_client import PartnerClient
    from gateway.demo.partners import load_partner_key, private_key_path

    if not private_key_path(keys, party).exists():
        fail(
            f"no demo key for {party!r} under {keys}/demo-partners/",
            hint="Start `ketenpoort demo` first.",
        )
    client = PartnerClient(f"http://127.0.0.1:{port}", party, load_partner_key(keys, party))
    try:
        response = client.request_token("zvh-demo", purpose)
    except httpx.HTTPError:
        fail(
            f"the demo gateway on port {port} does not answer",
            hint="Start `ketenpoort demo` first.",
        )
    finally:
        client.close()
    if response.status_code != 200:
        fail(f"token refused: {response.json().get('error', response.status_code)}")
    typer.echo(response.json()["access_token"])


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply migrations up to REVISION (default: every head)."""
    settings = load_settings()
    migrate.upgrade(settings.sqlalchemy_url, revision)
    console.print(f"Schema at revision {revision}.")


if __name__ == "__main__":
    app()
