"""The overdue rights requests section of /privacy, behind a small protocol.

The rights capability registers a provider in ``runtime.extras`` under
:data:`OVERDUE_PROVIDER_KEY`; until one exists the page says the overview is
not yet available rather than showing an empty (and falsely reassuring) list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.runtime import Runtime

OVERDUE_PROVIDER_KEY = "rights.overdue_provider"


@dataclass(frozen=True)
class OverdueRequest:
    """What the FG needs to chase an overdue request; no subject identity."""

    id: str
    type: str
    received: datetime
    deadline: datetime
    status: str
    responsible_party: str | None = None
    convenant: str | None = None


class OverdueRightsProvider(Protocol):
    def overdue(self, now: datetime, covenants: Sequence[str]) -> Sequence[OverdueRequest]:
        """Requests of ``covenants`` only: the officer's own (none for an empty sequence)."""
        ...


def overdue_provider(runtime: Runtime) -> OverdueRightsProvider | None:
    provider = runtime.extras.get(OVERDUE_PROVIDER_KEY)
    return provider if provider is not None else None
