"""``ketenpoort consent expire``: mark granted OvJ consents past ``valid_until`` as expired.

Coverage already ends at ``valid_until`` on every query; this writes the
register's status and the ``consent``/``expired`` audit entry for each.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.log import AuditUnavailable
from gateway.cli.console import console, fail, load_settings
from gateway.consent.expiry import expire_due
from gateway.policy.errors import PolicyError
from gateway.wiring import Runtime

consent_app = typer.Typer(help="OvJ consent register.", no_args_is_help=True)


@consent_app.command("expire")
def expire(
    today: Annotated[
        str | None,
        typer.Option(help="Treat this date (YYYY-MM-DD) as today; default the UTC date."),
    ] = None,
) -> None:
    """Expire granted consents whose valid_until lies before today, logging each."""
    try:
        day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    except ValueError:
        fail("--today must be a date as YYYY-MM-DD")
    runtime = Runtime.build(load_settings())
    try:
        with runtime.db.session() as session:
            expired = expire_due(session, day, audit=runtime.audit, policy=runtime.policy.current)
    except PolicyError as exc:
        fail(f"the policy directory is invalid: {len(exc.problems)} problem(s)")
    except (AuditUnavailable, SQLAlchemyError) as exc:
        fail(f"consents not expired: {type(exc).__name__}", hint="Is the database migrated?")
    finally:
        runtime.close()
    for consent_id in expired:
        console.print(f"expired: {consent_id}")
    console.print(f"{len(expired)} consent(s) expired.")
