"""Kept so ``from gateway.runtime import Runtime`` goes on working.

The home of the runtime is the composition root, :mod:`gateway.wiring`.
"""

from gateway.wiring.runtime import NotReady, Runtime

__all__ = ["NotReady", "Runtime"]
