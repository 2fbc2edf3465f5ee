"""What /privacy reads in-process (the runtime's audit log and pseudonymizer), and
the integrity and anomaly views the page shows, built on the audit package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import merkle
from gateway.audit.anomalies import PartySignal, denial_bursts, many_subjects
from gateway.audit.checkpoint import CheckpointError, verify_checkpoint
from gateway.audit.checkpoints import latest_checkpoint
from gateway.audit.keyfiles import KeyFileError
from gateway.audit.log import AuditLog
from gateway.audit.store import SqlNodeStore, head_size
from gateway.keys import KeyStoreError
from gateway.subjects.bsn import Pseudonymizer
from gateway.wiring import Runtime

MANY_SUBJECTS_PER_HOUR = 25
DENIALS_PER_5_MIN = 10
NO_CHECKPOINT = "Nog geen ondertekend checkpoint."


def audit_log(runtime: Runtime) -> AuditLog:
    return runtime.audit


def pseudonymizer(runtime: Runtime) -> Pseudonymizer:
    return runtime.pseudonymizer


@dataclass(frozen=True)
class IntegrityStatus:
    """The latest signed tree head and whether it holds, in words for the FG."""

    head_size: int
    checkpoint_size: int | None
    checkpoint_time: str | None
    root_hash: str | None
    ok: bool
    problem: str | None


def audit_jwks(log: AuditLog) -> Mapping[str, Any] | None:
    """The public keys the log's checkpoints are checked with (``None`` without a signer)."""
    if log.signer is None:
        return None
    return log.signer.jwks()


def integrity_status(session: Session, log: AuditLog) -> IntegrityStatus:
    """Check the newest checkpoint's signature and its root against the stored tree.

    O(log n) per page view; the full recomputation of every leaf, column and
    index row is ``ketenpoort audit verify`` or the page's background full check
    (:mod:`gateway.web.privacy.full_check`).
    """
    size = head_size(session)
    head = latest_checkpoint(session)
    if head is None:
        return IntegrityStatus(size, None, None, None, size == 0, NO_CHECKPOINT)
    problem: str | None = None
    try:
        jwks = audit_jwks(log)
        if jwks is None:
            problem = "Geen sleutel om het checkpoint te controleren."
        else:
            verify_checkpoint(head, jwks)
            stored_root = merkle.root(head.size, SqlNodeStore(session)) if head.size else None
            if stored_root is not None and stored_root.hex() != head.root_hash:
                problem = "De opgeslagen boom past niet bij het ondertekende checkpoint."
    except CheckpointError:
        problem = "De handtekening van het checkpoint is ongeldig."
    except (KeyFileError, KeyStoreError):
        problem = "De controlesleutels zijn niet beschikbaar."
    except (merkle.MerkleError, merkle.MissingNode):
        problem = "De opgeslagen boom is onvolledig."
    if problem is None and head.size > size:
        problem = "Het checkpoint is groter dan het log: er zijn regels verdwenen."
    return IntegrityStatus(
        head_size=size,
        checkpoint_size=head.size,
        checkpoint_time=head.time,
        root_hash=head.root_hash,
        ok=problem is None,
        problem=problem,
    )


@dataclass(frozen=True)
class Anomalies:
    many_subjects: list[PartySignal]
    denial_bursts: list[PartySignal]


def anomalies(session: Session, covenants: Sequence[str], now: datetime | None = None) -> Anomalies:
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
