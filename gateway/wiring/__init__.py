"""The composition root: builds every service once from Settings (docs/architecture.md)."""

from gateway.wiring.http import runtime_of
from gateway.wiring.parts import AuthServices, BrokeringServices, FederationServices, Foundations
from gateway.wiring.runtime import NotReady, Runtime

__all__ = [
    "AuthServices",
    "BrokeringServices",
    "FederationServices",
    "Foundations",
    "NotReady",
    "Runtime",
    "runtime_of",
]
