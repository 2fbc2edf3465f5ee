"""How a gateway process (``serve``) or the CLI assembles its retention runner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway.brokering.registry import ConnectorRegistry
from gateway.retention.deletions import DeletionFeeds
from gateway.retention.runner import RetentionRunner
from gateway.runtime import Runtime


def build_runner(
    runtime: Runtime,
    registry: ConnectorRegistry | None,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch_size: int = 1000,
) -> RetentionRunner:
    """With a ``registry`` the sources' deletion feeds are polled too (its client, its loop)."""
    holder = runtime.policy
    feeds = (
        DeletionFeeds(runtime.db, runtime.audit, lambda: holder.current, registry)
        if registry is not None
        else None
    )
    return RetentionRunner(
        runtime.db,
        runtime.audit,
        lambda: holder.current,
        feeds=feeds,
        now=now,
        batch_size=batch_size,
    )
