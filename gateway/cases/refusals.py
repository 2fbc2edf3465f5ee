"""The audit entry a refused case call or query leaves (promise 5; API.md §5).

Every refusal is itself an action worth logging: a party probing cases it is
not part of, or a token used outside its purpose, must show up in the
privacy officer's log and in the denial-burst signal, not only in a 403. The
entry names the token's covenant and purpose, the case id asked for and a
machine-readable reason; never the subject (nothing about the person was
processed), so a refusal creates no subject key either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from gateway.audit.events import AuditEvent, DetailValue, processing_activity_uri
from gateway.cases.service import Actor
from gateway.problems import Problem

REFUSED_OUTCOME = "denied"


def refusal_reason(problem: Problem) -> str:
    """The problem's ``reason`` extension, else its stable slug in snake case."""
    reason = problem.extensions.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    return problem.slug.replace("-", "_")


def refusal_event(
    actor: Actor,
    *,
    action: str,
    reason: str,
    case_id: str | None,
    covenant_version: str | None,
    details: Mapping[str, DetailValue] | None = None,
) -> AuditEvent:
    """One ``decision``/``denied`` entry for one refused call."""
    return AuditEvent(
        kind="decision",
        outcome=REFUSED_OUTCOME,
        reason=reason,
        party=actor.party,
        employee=actor.employee,
        convenant=actor.covenant,
        purpose=actor.purpose,
        case=case_id,
        covenant_version=covenant_version,
        processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
        details={"action": action, **(details or {})},
    )


WINDOW_S = 60
MAX_KEYS = 10_000
MAX_LISTED_CASES = 10
_Key = tuple[str, str, str, str, str]


@dataclass
class _Pending:
    first: AuditEvent
    window: int
    count: int = 0
    cases: list[str] = field(default_factory=list)
    distinct: set[str] = field(default_factory=set)


class RefusalAggregate:
    """Refused case calls and queries: the first of a minute at once, the rest counted.

    One entry per refused request let a partner with a valid token write the
    audit log as fast as it could send refused calls (a 404 for a made-up case id
    costs one indexed read), each entry hash-chained and committed. Like the
    door's refusals (gateway/auth/denials.py) they are now aggregated per
    (party, action, reason, covenant, purpose, minute): the first is written at
    once with its case id; the rest of the minute becomes one entry with
    ``count``, ``aggregated: true``, ``minute``, the first case ids asked for
    (``cases``, comma-separated, at most ten) and ``distinct_cases``. The
    employee is the first one's: the employee header is the caller's free text,
    so it must not multiply entries either.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[_Key, _Pending] = {}

    def events(self, event: AuditEvent) -> list[AuditEvent]:
        """What to write now for this refusal: its own entry, earlier minutes' counts, or none."""
        window = int(self._clock() // WINDOW_S)
        key = _key(event)
        out: list[AuditEvent] = []
        with self._lock:
            for old_key, old in list(self._seen.items()):
                if old.window != window:
                    if old.count:
                        out.append(_aggregated(old))
                    del self._seen[old_key]
            pending = self._seen.get(key)
            if pending is None:
                if len(self._seen) >= MAX_KEYS:
                    out.extend(self._drain())
                self._seen[key] = _Pending(event, window)
                out.append(_stamped(event, window))
            else:
                pending.count += 1
                if event.case and event.case not in pending.distinct:
                    pending.distinct.add(event.case)
                    if len(pending.cases) < MAX_LISTED_CASES:
                        pending.cases.append(event.case)
        return out

    def unwritten(self, event: AuditEvent) -> None:
        """The entry for ``event`` could not be written: the next such refusal writes again."""
        with self._lock:
            pending = self._seen.get(_key(event))
            if pending is not None and pending.first is event and not pending.count:
                del self._seen[_key(event)]

    def drain(self) -> list[AuditEvent]:
        """The counts still held (at shutdown)."""
        with self._lock:
            return self._drain()

    def _drain(self) -> list[AuditEvent]:
        events = [_aggregated(p) for p in self._seen.values() if p.count]
        self._seen.clear()
        return events


def _key(event: AuditEvent) -> _Key:
    return (
        event.party or "",
        str(event.details.get("action", "")),
        event.reason or "",
        event.convenant or "",
        event.purpose or "",
    )


def _minute(window: int) -> str:
    return datetime.fromtimestamp(window * WINDOW_S, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _stamped(event: AuditEvent, window: int) -> AuditEvent:
    details = {**event.details, "count": 1, "aggregated": False, "minute": _minute(window)}
    return replace(event, details=details)


def _aggregated(pending: _Pending) -> AuditEvent:
    first = pending.first
    details: dict[str, DetailValue] = {
        "action": first.details.get("action"),
        "count": pending.count,
        "aggregated": True,
        "minute": _minute(pending.window),
        "cases": ",".join(pending.cases),
        "distinct_cases": len(pending.distinct),
    }
    return replace(first, case=None, details=details)
