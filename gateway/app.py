"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import __version__, offload
from gateway.api import (
    audit,
    cases,
    consents,
    federation,
    grounds,
    health,
    oauth,
    oversight,
    reports,
    rights,
    sources,
)
from gateway.api.docs import install_api_docs
from gateway.api.edge import Edge, allowed_hosts
from gateway.api.errors import install_error_handlers
from gateway.api.limits import BodySizeLimit
from gateway.api.openapi import install_openapi
from gateway.api.route_dispatch import install_route_dispatch
from gateway.policy.watch import PolicyReloading
from gateway.retention.background import RetentionJob
from gateway.rights.peer_outcomes import PeerOutcomeJob
from gateway.settings import Settings
from gateway.telemetry import instrument_app, setup_telemetry
from gateway.web import install_web
from gateway.wiring import Runtime


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the gateway app; the schema must already be migrated (``serve`` does it)."""
    settings = settings or (runtime.settings if runtime else Settings())
    own_runtime = runtime is None
    runtime = runtime or Runtime.build(settings)
    telemetry = setup_telemetry(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        offload.set_steady_threads(runtime.offload_threads())
        runtime.audit.start()
        reloading = PolicyReloading(settings.policy_dir, lambda: runtime.policy)
        reloading.start()
        retention = RetentionJob(lambda: runtime.retention, settings.retention_interval_s)
        retention.start()
        peer_outcomes = PeerOutcomeJob(
            lambda: runtime.peer_outcomes, settings.peer_rights_interval_s
        )
        peer_outcomes.start()
        try:
            yield
        finally:
            await peer_outcomes.stop()
            await retention.stop()
            reloading.stop()
            await runtime.close_services()
            runtime.audit.stop()
            if own_runtime:
                runtime.close()

    app = FastAPI(
        title="Ketenpoort",
        version=__version__,
        description="Need-to-know data exchange for Zorg- en Veiligheidshuizen.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # The SERVER span comes from instrument_app; FastAPI's own telemetry would cost a
        # check per request, and its logs carry exception messages (which may hold a BSN).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(oauth.router)
    app.include_router(audit.router)
    app.include_router(cases.router)
    app.include_router(grounds.router)
    app.include_router(consents.router)
    app.include_router(rights.router)
    app.include_router(federation.router)
    app.include_router(sources.router)
    app.include_router(reports.router)
    app.include_router(oversight.router)
    install_web(app, settings)
    install_api_docs(app, settings)
    install_openapi(app)
    # Hot routes (the partner API) without the router's scan: gateway/api/route_dispatch.py.
    install_route_dispatch(app)
    # Outermost of ours: no exception text leaves; then Host, then no-store (gateway/api/edge.py).
    app.add_middleware(Edge, hosts=allowed_hosts(settings))
    instrument_app(app, telemetry)  # the SERVER span, outside everything of ours
    return app
