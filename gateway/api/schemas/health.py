"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from gateway.api.schemas.common import Out


class LiveOut(Out):
    status: str


class ReadyOut(Out):
    status: str
    checks: dict[str, Any]
