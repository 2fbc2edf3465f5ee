"""``ketenpoort demo``: the embedded default on one machine, for a first look.

SQLite under ./var/, dev mode, keys under ./keys/ (git-ignored). Everything
listens on 127.0.0.1 only.
"""

from __future__ import annotations

from pathlib import Path

import uvicorn

from gateway.app import create_app
from gateway.cli.console import console
from gateway.cli.serve import prepare
from gateway.settings import Settings

DEMO_DB = Path("var") / "demo.db"


def demo_settings(port: int) -> Settings:
    return Settings(
        database_url=f"sqlite:///{DEMO_DB}",
        policy_dir=Path("policies"),
        key_dir=Path("keys"),
        base_url=f"http://127.0.0.1:{port}",
        dev_mode=True,
    )


def run(port: int) -> None:
    settings = demo_settings(port)
    runtime = prepare(settings)
    app = create_app(settings, runtime)
    console.rule("[bold]Ketenpoort demo[/]")
    console.print(f"Gateway:     {settings.base_url}   (SQLite: {DEMO_DB})")
    console.print(f"Probeer:     curl {settings.base_url}/health/ready")
    console.print(f"API-docs:    {settings.base_url}/docs")
    console.print("[yellow]Ontwikkelmodus: niet voor echte gegevens.[/]")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
