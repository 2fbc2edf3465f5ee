"""Shared rich console, the one way commands report a fatal startup error, and settings.

Every sub-command reads its settings through :func:`load_settings` here, so the
sub-commands and ``cli/main.py`` never import each other.

Language per audience: the operator commands speak English throughout (messages,
errors, tables), like the logs; only the demo walk-through, written for someone
trying the Dutch pages, is Dutch.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from gateway.settings import Settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, *, hint: str | None = None, code: int = 2) -> NoReturn:
    """Print a clear error (no traceback) and exit non-zero."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
    if hint:
        err_console.print(f"[dim]{hint}[/]", highlight=False)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings from the environment; invalid ones end the command with each variable named."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"KETENPOORT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        fail(f"invalid settings: {problems}")
