"""Every refusal at the door is an audit entry, without letting a flood flood the log.

Token-endpoint failures (bad assertion, replay, wrong scope, throttled) and
role refusals at the API are written as ``kind="auth"``, ``outcome="denied"``
with a fixed ``reason`` code. Aggregated per (where, party, reason, minute):
the first refusal of a minute is written at once with ``count`` 1; further ones
are counted and written as one entry with their ``count`` when a later minute
begins (or :meth:`DenialAudit.flush` is called). Nothing from the request goes
in: no assertion, no token, no key material; the party of a token-endpoint
failure is named only when it is a known party (else ``-``), so made-up ids
cannot multiply the entries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.audit.events import AuditEvent, DetailValue
from gateway.audit.log import AuditLog, AuditUnavailable

log = logging.getLogger("ketenpoort.auth.denials")

AUTH_KIND = "auth"
DENIED = "denied"
WINDOW_S = 60
MAX_KEYS = 10_000
_REASONS: tuple[tuple[str, str], ...] = (
    ("was used before", "replay"),
    ("signature invalid", "bad_signature"),
    ("unknown client", "unknown_client"),
    ("algorithm not allowed", "bad_algorithm"),
    ("not a party of", "not_a_party"),
    ("not active", "convenant_inactive"),
    ("no registered key", "no_matching_key"),
    ("several keys fit", "ambiguous_key"),
    ("keys are unavailable", "keys_unavailable"),
    ("too large", "assertion_too_large"),
    ("'client_id' contradicts", "client_id_mismatch"),
    ("lacks 'sub'", "claims_invalid"),
    ("assertion rejected", "claims_invalid"),
    ("'iss' and 'sub'", "claims_invalid"),
    ("'exp'", "claims_invalid"),
    ("'iat'", "claims_invalid"),
    ("'jti'", "claims_invalid"),
    ("invalid jwt", "malformed_assertion"),
)


def token_denial_reason(error: str, description: str | None) -> str:
    """A fixed reason code for an OAuth error; never the (partly caller-made) description."""
    if error == "invalid_client" and description:
        lowered = description.lower()
        for needle, reason in _REASONS:
            if needle.lower() in lowered:
                return reason
    return error if error.replace("_", "").isalpha() and len(error) <= 40 else "invalid_request"


@dataclass(frozen=True)
class Denial:
    where: str
    party: str | None
    reason: str
    employee: str | None = None
    convenant: str | None = None
    purpose: str | None = None
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    def key(self) -> tuple[str, str | None, str, str | None, str | None]:
        return (self.where, self.party, self.reason, self.convenant, self.purpose)


@dataclass
class _Pending:
    denial: Denial
    window: int
    count: int = 0


class DenialAudit:
    def __init__(self, audit: Callable[[], AuditLog], *, clock: Callable[[], float] = time.time):
        self._audit = audit
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str | None, str, str | None, str | None], _Pending] = {}

    def _events(self, denial: Denial) -> list[AuditEvent]:
        window = int(self._clock() // WINDOW_S)
        events: list[AuditEvent] = []
        with self._lock:
            for key, old in list(self._seen.items()):
                if old.window != window:
                    if old.count:
                        events.append(_event(old.denial, old.count, old.window, True))
                    del self._seen[key]
            pending = self._seen.get(denial.key())
            if pending is None:
                if len(self._seen) >= MAX_KEYS:
                    events.extend(self._drain())
                self._seen[denial.key()] = _Pending(denial, window)
                events.append(_event(denial, 1, window, False))
            else:
                pending.count += 1
        return events

    def _drain(self) -> list[AuditEvent]:
        events = [_event(p.denial, p.count, p.window, True) for p in self._seen.values() if p.count]
        self._seen.clear()
        return events

    def record_sync(self, denial: Denial) -> None:
        """Write (or count) one refusal; a failing audit log is logged, the refusal stands."""
        self._write_sync(self._events(denial))

    async def record(self, denial: Denial) -> None:
        events = self._events(denial)
        if not events:
            return
        try:
            await self._audit().append(events)
        except AuditUnavailable:
            log.warning("audit log unavailable; %d denial entries not written", len(events))

    def flush(self) -> None:
        """Write the counts still held (at shutdown, or in tests)."""
        with self._lock:
            events = self._drain()
        self._write_sync(events)

    def _write_sync(self, events: list[AuditEvent]) -> None:
        if not events:
            return
        try:
            self._audit().append_sync(events)
        except AuditUnavailable:
            log.warning("audit log unavailable; %d denial entries not written", len(events))


def _event(denial: Denial, count: int, window: int, aggregated: bool) -> AuditEvent:
    details: dict[str, DetailValue] = dict(denial.details)
    details.update(
        {
            "where": denial.where,
            "count": count,
            "aggregated": aggregated,
            "minute": datetime.fromtimestamp(window * WINDOW_S, UTC).strftime("%Y-%m-%dT%H:%MZ"),
        }
    )
    return AuditEvent(
        kind=AUTH_KIND,
        outcome=DENIED,
        party=denial.party,
        employee=denial.employee,
        convenant=denial.convenant,
        purpose=denial.purpose,
        reason=denial.reason,
        details=details,
    )
