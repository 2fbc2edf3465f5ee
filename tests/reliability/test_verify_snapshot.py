"""``audit verify`` next to live appends: no false tamper alarm, real tampering still found.

Promise 6 (tamper evidence) is only useful if an alarm means tampering. The
verifier once read the head and the entries in different transactions, so a
run during traffic reported "the head says 3326 entries, the table holds 3361".
Here real appends go through :class:`AuditLog` (a thread in this process, or a
separate OS process) while verify runs again and again on the same database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.audit.integrity import DatabaseVerifyResult, verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditEntry
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import head_size
from gateway.cli.main import app
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.audit.conftest import event

ROOT = Path(__file__).resolve().parents[2]
RUNS = 12


@pytest.fixture
def audit_log(settings: Settings, db: Database, signer: Ed25519Signer) -> Iterator[AuditLog]:
    log = build_audit_log(settings, db, signer)
    log.start()
    yield log
    log.stop()


class Appender:
    """Appends batches (with subjects, so keys and index rows too) until stopped."""

    def __init__(self, log: AuditLog, checkpoint_every: int = 7) -> None:
        self.log = log
        self.checkpoint_every = checkpoint_every
        self.stop = threading.Event()
        self.batches = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                self.log.append_sync([event(n + i) for i in range(5)])
                n += 5
                self.batches += 1
                if self.batches % self.checkpoint_every == 0:
                    self.log.checkpoint_now()
        except BaseException as exc:  # reported by the test, never swallowed
            self.error = exc

    def __enter__(self) -> Appender:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert self.error is None, repr(self.error)


def _size(db: Database) -> int:
    with db.session() as session:
        return head_size(session)


def _verify_while_growing(
    db: Database, signer: Ed25519Signer, runs: int
) -> list[tuple[int, int, DatabaseVerifyResult]]:
    """Run verify ``runs`` times; each with the head size before and after it."""
    outcomes = []
    for _ in range(runs):
        before = _size(db)
        outcome = verify_database(db, signer.jwks())
        outcomes.append((before, _size(db), outcome))
    return outcomes


def _assert_no_false_alarm(outcomes: list[tuple[int, int, DatabaseVerifyResult]]) -> None:
    for before, after, outcome in outcomes:
        assert outcome.result.ok, (before, after, outcome.result.problem)
        assert before <= outcome.head_size <= after
        assert outcome.result.entries == outcome.head_size
    overlapped = sum(1 for before, after, _ in outcomes if after > before)
    assert overlapped >= len(outcomes) // 3, "appends must really run during the verify runs"


def test_verify_during_appends_from_a_thread_never_raises_a_false_alarm(
    db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    """Promise 6, tamper evidence: verify during live appends reports OK every time."""
    audit_log.append_sync([event(n) for n in range(200)])
    audit_log.checkpoint_now()
    with Appender(audit_log):
        outcomes = _verify_while_growing(db, signer, RUNS)
    _assert_no_false_alarm(outcomes)
    audit_log.checkpoint_now()
    final = verify_database(db, signer.jwks())
    assert final.result.ok, final.result.problem
    assert final.result.verified_size == final.head_size == _size(db)


def test_verify_during_appends_from_another_process_never_raises_a_false_alarm(
    settings: Settings, db: Database, signer: Ed25519Signer
) -> None:
    """Promise 6, tamper evidence: another OS process appending (as a second gateway
    instance would) never makes verify report removed or added entries."""
    log = build_audit_log(settings, db, signer)
    log.append_sync([event(n) for n in range(100)])
    log.checkpoint_now()
    log.stop()
    appender = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.audit.appender_process",
            settings.database_url,
            str(settings.key_dir),
            "0",
            "--forever",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert appender.stdout is not None
        appender.stdout.readline()  # its first batch is committed: it is running
        outcomes = _verify_while_growing(db, signer, RUNS)
    finally:
        appender.terminate()
        appender.wait(timeout=30)
    _assert_no_false_alarm(outcomes)


def test_tampering_is_still_found_while_appends_run(
    db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    """Promise 6, tamper evidence: a snapshot does not hide real edits; the first bad
    seq is named while new entries keep arriving."""
    audit_log.append_sync([event(n) for n in range(60)])
    audit_log.checkpoint_now()
    with Appender(audit_log):
        with db.session() as session:
            body = session.scalars(select(AuditEntry.body).where(AuditEntry.seq == 41)).one()
            session.execute(
                update(AuditEntry)
                .where(AuditEntry.seq == 41)
                .values(body=body.replace('"records":1', '"records":9'))
            )
        first = verify_database(db, signer.jwks()).result
        with db.session() as session:
            session.execute(update(AuditEntry).where(AuditEntry.seq == 17).values(party="x"))
        second = verify_database(db, signer.jwks()).result
    assert not first.ok and first.first_bad_seq == 41
    assert not second.ok and second.first_bad_seq == 17
    assert "party" in (second.problem or "")


def test_cli_verify_while_the_gateway_appends(settings: Settings) -> None:
    """Promise 6, tamper evidence: ``ketenpoort audit verify`` against the live database
    of a running instance prints OK, with a progress display, and exits 0."""
    runtime = Runtime.build(settings)
    runtime.keys.ensure()
    runtime.audit.start()
    env = {
        "KETENPOORT_DATABASE_URL": settings.database_url,
        "KETENPOORT_KEY_DIR": str(settings.key_dir),
        "KETENPOORT_DEV_MODE": "true",
    }
    try:
        runtime.audit.append_sync([event(n) for n in range(100)])
        runtime.audit.checkpoint_now()
        with Appender(runtime.audit):
            results = [CliRunner().invoke(app, ["audit", "verify"], env=env) for _ in range(4)]
    finally:
        runtime.audit.stop()
        runtime.close()
    for result in results:
        assert result.exit_code == 0, result.output
        assert "OK" in result.output and "NOT OK" not in result.output
        assert "Verifying log" in result.output
