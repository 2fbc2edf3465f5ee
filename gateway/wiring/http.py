"""The one FastAPI dependency that hands routes the composition root."""

from __future__ import annotations

from fastapi import Request

from gateway.wiring.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The app's runtime (set by :func:`gateway.app.create_app`); use with ``Depends``."""
    runtime: Runtime = request.app.state.runtime
    return runtime
