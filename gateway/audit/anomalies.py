"""Signals for the privacy officer's watch list: who looks up many people, who
keeps getting refused. Both come from the log itself, so they also cover
access that the policy allowed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry, AuditSubjectIndex

DENIAL_OUTCOMES = ("denied", "deny", "refused")


def _in_scope(covenants: Sequence[str] | None) -> ColumnElement[bool]:
    """Entries of ``covenants`` only (an officer's own); ``None`` is unscoped (operator tools)."""
    if covenants is None:
        return true()
    if not covenants:
        return false()
    return AuditEntry.convenant.in_(tuple(covenants))


@dataclass(frozen=True)
class PartySignal:
    party: str
    count: int
    since: datetime


def many_subjects(
    session: Session,
    *,
    threshold: int,
    window: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    covenants: Sequence[str] | None = None,
) -> list[PartySignal]:
    """Parties that touched more than ``threshold`` distinct (non-erased) subjects in the window."""
    since = (now or datetime.now(UTC)) - window
    count = func.count(func.distinct(AuditSubjectIndex.pseudonym))
    rows = session.execute(
        select(AuditEntry.party, count)
        .join(AuditSubjectIndex, AuditSubjectIndex.seq == AuditEntry.seq)
        .where(AuditEntry.time >= since, AuditEntry.party.is_not(None), _in_scope(covenants))
        .group_by(AuditEntry.party)
        .having(count > threshold)
        .order_by(count.desc())
    ).all()
    return [PartySignal(party=str(party), count=int(n), since=since) for party, n in rows]


def denial_bursts(
    session: Session,
    *,
    threshold: int,
    window: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
    covenants: Sequence[str] | None = None,
) -> list[PartySignal]:
    """Parties with more than ``threshold`` denials in the window.

    Refusals are aggregated per minute (gateway/auth/denials.py,
    gateway/cases/refusals.py): an aggregated entry stands for ``details.count``
    refusals, so a flood still shows at its real size. Those entries are few
    (one per key and minute), so their bodies are read here.
    """
    since = (now or datetime.now(UTC)) - window
    denied = (
        AuditEntry.time >= since,
        AuditEntry.outcome.in_(DENIAL_OUTCOMES),
        AuditEntry.party.is_not(None),
        _in_scope(covenants),
    )
    totals: dict[str, int] = {
        str(party): int(n)
        for party, n in session.execute(
            select(AuditEntry.party, func.count(AuditEntry.seq))
            .where(*denied)
            .group_by(AuditEntry.party)
        ).all()
    }
    aggregated = session.execute(
        select(AuditEntry.party, AuditEntry.body).where(
            *denied, AuditEntry.body.contains('"aggregated":true')
        )
    ).all()
    for party, body in aggregated:
        totals[str(party)] += _count(body) - 1
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [PartySignal(party=p, count=n, since=since) for p, n in ranked if n > threshold]


def _count(body: str) -> int:
    """``details.count`` of an aggregated entry; 1 if it has none."""
    try:
        details = json.loads(body).get("details") or {}
        count = details.get("count") if details.get("aggregated") is True else 1
    except (ValueError, AttributeError):
        return 1
    return count if isinstance(count, int) and count > 0 else 1


MANY_SUBJECTS_PER_HOUR = 25
DENIALS_PER_5_MIN = 10


@dataclass(frozen=True)
class Anomalies:
    many_subjects: list[PartySignal]
    denial_bursts: list[PartySignal]


def officer_signals(
    session: Session, covenants: Sequence[str], now: datetime | None = None
) -> Anomalies:
    """Signals from the entries of ``covenants`` only (the officer's own)."""
    now = now or datetime.now(UTC)
    return Anomalies(
        many_subjects=many_subjects(
            session,
            threshold=MANY_SUBJECTS_PER_HOUR,
            window=timedelta(hours=1),
            now=now,
            covenants=covenants,
        ),
        denial_bursts=denial_bursts(
            session,
            threshold=DENIALS_PER_5_MIN,
            window=timedelta(minutes=5),
            now=now,
            covenants=covenants,
        ),
    )
