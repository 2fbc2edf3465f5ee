"""Key events in the audit log (issue 4: "every ... key event is an audit entry").

A rotation changes who can sign tokens and checkpoints; the privacy officer
and an external verifier must be able to see when that happened and which
kid took over. Public facts only: use, kid, algorithm, never key material.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gateway.audit.events import AuditEvent
from gateway.keys.manifest import KeyRecord

KeyOutcome = Literal["created", "rotated"]


def key_events(records: Sequence[KeyRecord], outcome: KeyOutcome, by: str) -> list[AuditEvent]:
    """One entry per key; ``by`` names the command that did it (``serve``, ``keys rotate``)."""
    return [
        AuditEvent(
            kind="key",
            outcome=outcome,
            reason=by,
            details={"use": record.use, "kid": record.kid, "alg": record.alg},
        )
        for record in records
    ]
