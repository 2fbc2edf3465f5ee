"""``ketenpoort rights sync-peers``: pull peer regions' outcomes now, as the background job does.

For operators who want the outcome of a forwarded correctie or verzet before
the next round (``KETENPOORT_PEER_RIGHTS_INTERVAL_S``), or a cron job where
``serve`` runs without it. A peer that is down keeps its last known state;
the command reports how many could not be asked and exits 0 (next round retries).
"""

from __future__ import annotations

import httpx
import typer

from connectors import SourceHttp
from gateway.cli.console import console
from gateway.cli.jobs import run_job
from gateway.outbound import cookieless_jar
from gateway.rights.peer_outcomes import SyncReport
from gateway.wiring import Runtime
from gateway.wiring.parts import build_peer_outcomes, build_peer_registry

rights_app = typer.Typer(help="Rights requests: correctie and verzet across regions.")


async def _sync(runtime: Runtime) -> SyncReport:
    async with (
        SourceHttp() as sources,
        httpx.AsyncClient(follow_redirects=False, cookies=cookieless_jar()) as client,
    ):
        registry = build_peer_registry(runtime.foundations, runtime.auth, sources, client)
        outcomes = build_peer_outcomes(runtime.foundations, runtime.pseudonymizer, registry)
        return await outcomes.sync()


@rights_app.command("sync-peers")
def sync_peers() -> None:
    """Ask every peer region where our forwarded correcties/verzetten stand; store changes."""
    report = run_job(_sync)
    console.print(
        f"peer outcomes: {report.asked} asked, {report.changed} changed, "
        f"{report.failed} not reachable (kept, retried next round)"
    )
