"""What a capability needs of the audit log: one protocol, so no capability imports the log.

:class:`gateway.audit.log.AuditLog` is the one implementation. Desks use
:meth:`append_in` (the entry commits with their change, in their session);
a refusal whose own transaction was rolled back is written with
:meth:`append_sync` (or :meth:`append` on the event loop). The broker's
post-answer checks run in the group commit's own transaction through
:meth:`append_after`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent


class AuditAppender(Protocol):
    def append_in(self, session: Session, events: Sequence[AuditEvent]) -> list[int]:
        """Add ``events`` in the caller's transaction: they commit with it or not at all."""
        ...

    def append_sync(self, events: Sequence[AuditEvent]) -> list[int]:
        """Write ``events`` in a transaction of their own (blocking)."""
        ...

    async def append(self, events: Sequence[AuditEvent]) -> list[int]:
        """Write ``events`` in a transaction of their own, from the event loop."""
        ...

    async def append_after(self, prepare: Callable[[Session], Sequence[AuditEvent]]) -> list[int]:
        """Run ``prepare`` in the transaction that then commits the events it returns."""
        ...
