"""Imports every capability's tables so Alembic and tests see one metadata."""

from gateway.storage.state import GatewayState

__all__ = ["GatewayState"]
