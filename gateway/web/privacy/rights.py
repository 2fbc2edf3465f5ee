"""The overdue rights requests section of /privacy, behind a small protocol.

The composition root builds the rights capability's :class:`OverdueRegister`
(``runtime.overdue``); the page only needs something that lists overdue
requests of the officer's covenants.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway.rights.overdue import OverdueRequest
from gateway.wiring import Runtime

__all__ = ["OverdueRequest", "OverdueRightsProvider", "overdue_provider"]


class OverdueRightsProvider(Protocol):
    def overdue(self, now: datetime, covenants: Sequence[str]) -> Sequence[OverdueRequest]:
        """Requests of ``covenants`` only: the officer's own (none for an empty sequence)."""
        ...


def overdue_provider(runtime: Runtime) -> OverdueRightsProvider | None:
    return runtime.overdue
