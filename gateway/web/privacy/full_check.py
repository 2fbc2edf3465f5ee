"""The full ``audit verify`` started from /privacy, run in the background.

The integrity panel's quick check (signature and root of the newest head) is
O(log n) per page view; the full check reads every entry, subtree, query
column and subject-index row, which takes minutes on a large log. So the FG
starts it with a button, the page shows its progress, and the result stays
on the page until the next run. It reads one snapshot
(:mod:`gateway.audit.snapshot`), so running it while the gateway serves
traffic gives no false alarm. One run at a time per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.integrity import verify_database
from gateway.audit.keyfiles import KeyFileError
from gateway.audit.snapshot import read_snapshot
from gateway.audit.store import head_size
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import VaultError
from gateway.keys import KeyStoreError
from gateway.storage.db import Database

Jwks = Callable[[], Mapping[str, Any] | None]


@dataclass(frozen=True)
class FullCheckStatus:
    """What the page shows: never run, running (with progress) or its outcome."""

    running: bool = False
    started: str | None = None
    finished: str | None = None
    done: int = 0
    total: int = 0
    ok: bool | None = None
    entries: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat()  # shown in Dutch time by the page (tijd filter)


class FullCheck:
    """Runs :func:`verify_database` in a daemon thread and keeps its last status."""

    def __init__(self, db: Database, jwks: Jwks, vault: SubjectVault | None) -> None:
        self._db = db
        self._jwks = jwks
        self._vault = vault
        self._lock = threading.Lock()
        self._status = FullCheckStatus()

    def status(self) -> FullCheckStatus:
        with self._lock:
            return self._status

    def start(self) -> bool:
        """Start a run; ``False`` when one is already running."""
        with self._lock:
            if self._status.running:
                return False
            self._status = FullCheckStatus(running=True, started=_now())
        threading.Thread(target=self._run, name="privacy full check", daemon=True).start()
        return True

    def _progress(self, done: int) -> None:
        with self._lock:
            self._status = replace(self._status, done=done)

    def _run(self) -> None:
        try:
            outcome = self._verify()
        except (SQLAlchemyError, LookupError, KeyFileError, KeyStoreError, VaultError) as exc:
            outcome = FullCheckStatus(
                ok=False, problem=f"De controle kon niet worden uitgevoerd ({type(exc).__name__})."
            )
        with self._lock:
            self._status = replace(
                outcome, running=False, started=self._status.started, finished=_now()
            )

    def _verify(self) -> FullCheckStatus:
        jwks = self._jwks()
        if jwks is None:
            problem = "Geen sleutel om de checkpoints te controleren."
            return FullCheckStatus(ok=False, problem=problem)
        with read_snapshot(self._db) as session:
            total = head_size(session)
        with self._lock:
            self._status = replace(self._status, total=total)
        result = verify_database(self._db, jwks, self._progress, vault=self._vault).result
        return FullCheckStatus(
            ok=result.ok,
            done=result.entries,
            total=total,
            entries=result.entries,
            first_bad_seq=result.first_bad_seq,
            problem=result.problem,
        )
