"""``ketenpoort rights sync-peers``: pull peer regions' outcomes now, as the background job does.

For operators who want the outcome of a forwarded correctie or verzet before
the next round (``KETENPOORT_PEER_RIGHTS_INTERVAL_S``), or a cron job where
``serve`` runs without it. A peer that is down keeps its last known state;
the command reports how many could not be asked and exits 0 (next round retries).
"""

from __future__ import annotations

import asyncio

import httpx
import typer
from sqlalchemy.exc import SQLAlchemyError

from connectors import SourceHttp
from gateway.audit.log import AuditUnavailable
from gateway.cli.console import console, fail, load_settings
from gateway.policy.errors import PolicyError
from gateway.rights.peer_outcomes import SyncReport
from gateway.storage.migrate import is_current
from gateway.wiring import Runtime
from gateway.wiring.parts import build_peer_outcomes, build_peer_registry

rights_app = typer.Typer(help="Rights requests: correctie and verzet across regions.")


async def _sync(runtime: Runtime) -> SyncReport:
    async with SourceHttp() as sources, httpx.AsyncClient(follow_redirects=False) as client:
        registry = build_peer_registry(runtime.foundations, runtime.auth, sources, client)
        outcomes = build_peer_outcomes(runtime.foundations, runtime.pseudonymizer, registry)
        return await outcomes.sync()


@rights_app.command("sync-peers")
def sync_peers() -> None:
    """Ask every peer region where our forwarded correcties/verzetten stand; store changes."""
    runtime = Runtime.build(load_settings())
    try:
        if not is_current(runtime.db.engine):
            fail("the database schema is not current", hint="Run `ketenpoort db upgrade` first.")
        report = asyncio.run(_sync(runtime))
    except PolicyError as exc:
        fail(f"the covenants have errors ({len(exc.problems)}); nothing was done.")
    except SQLAlchemyError as exc:
        fail(f"database error ({type(exc).__name__}); the run stopped.")
    except AuditUnavailable as exc:
        fail(f"the audit log is not writable ({exc}); the run stopped.")
    finally:
        runtime.close()
    console.print(
        f"peer outcomes: {report.asked} asked, {report.changed} changed, "
        f"{report.failed} not reachable (kept, retried next round)"
    )
