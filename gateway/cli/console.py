"""Shared rich console and the one way commands report a fatal startup error.

Language per audience: the operator commands speak English throughout (messages,
errors, tables), like the logs; only the demo walk-through, written for someone
trying the Dutch pages, is Dutch.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, *, hint: str | None = None, code: int = 2) -> NoReturn:
    """Print a clear error (no traceback) and exit non-zero."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
    if hint:
        err_console.print(f"[dim]{hint}[/]", highlight=False)
    raise typer.Exit(code)
