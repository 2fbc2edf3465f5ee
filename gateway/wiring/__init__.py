"""The composition root: builds every service once from Settings (docs/architecture.md).

The names below load on first use, so a process that needs only one builder
(``gateway.wiring.audit_log`` in a tool or a child process) does not import
every capability and the web framework just to start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.wiring.http import runtime_of
    from gateway.wiring.parts import (
        AuthServices,
        BrokeringServices,
        FederationServices,
        Foundations,
    )
    from gateway.wiring.runtime import NotReady, Runtime

_HOMES = {
    "runtime_of": "gateway.wiring.http",
    "AuthServices": "gateway.wiring.parts",
    "BrokeringServices": "gateway.wiring.parts",
    "FederationServices": "gateway.wiring.parts",
    "Foundations": "gateway.wiring.parts",
    "NotReady": "gateway.wiring.runtime",
    "Runtime": "gateway.wiring.runtime",
}

__all__ = [
    "AuthServices",
    "BrokeringServices",
    "FederationServices",
    "Foundations",
    "NotReady",
    "Runtime",
    "runtime_of",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gateway.wiring' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
