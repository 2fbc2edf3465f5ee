"""Liveness and readiness for load balancers and Kubernetes probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.schemas.health import LiveOut, ReadyOut
from gateway.problems import RETRY_AFTER_S, ServiceUnavailable
from gateway.wiring import NotReady, runtime_of

router = APIRouter(tags=["health"])
_RETRY = {"Retry-After": RETRY_AFTER_S}


@router.get("/health/live", response_model=LiveOut)
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    response_model=ReadyOut,
    responses={503: {"description": "A dependency is not ready"}},
)
def ready(request: Request) -> dict[str, object]:
    runtime = runtime_of(request)
    try:
        checks = runtime.readiness()
    except NotReady as exc:
        raise ServiceUnavailable(
            detail=f"Not ready: {exc}", extensions={"check": str(exc)}, headers=_RETRY
        ) from None
    except SQLAlchemyError:
        raise ServiceUnavailable(
            detail="Not ready: database", extensions={"check": "database"}, headers=_RETRY
        ) from None
    return {"status": "ok", "checks": checks}
