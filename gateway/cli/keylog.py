"""Write key events to the audit log from a command, failing loudly when it cannot."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditUnavailable
from gateway.cli.console import fail
from gateway.wiring import Runtime


def log_key_events(runtime: Runtime, events: Sequence[AuditEvent]) -> None:
    """Append ``events``; a key change the log cannot record stops the command (exit 2)."""
    try:
        runtime.audit.append_sync(events)
    except (AuditUnavailable, SQLAlchemyError) as exc:
        fail(
            f"the key change is not in the audit log ({type(exc).__name__}).",
            hint="Run `ketenpoort db upgrade` and check KETENPOORT_DATABASE_URL, then retry.",
        )
