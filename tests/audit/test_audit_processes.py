"""Several OS processes on one database: one consistent tree, and a kill -9 leaves it valid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditEntry
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import head_size
from gateway.settings import Settings
from gateway.storage.db import Database
from tests.audit.conftest import event

ROOT = Path(__file__).resolve().parents[2]
BATCHES = 40


def _spawn(settings: Settings, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.audit.appender_process",
            settings.database_url,
            str(settings.key_dir),
            str(BATCHES),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _assert_one_tree(db: Database, audit_log: AuditLog, signer: Ed25519Signer) -> int:
    audit_log.checkpoint_now()
    with db.session() as session:
        size = head_size(session)
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == size
    assert seqs == list(range(size))
    outcome = verify_database(db, signer.jwks())
    assert outcome.result.ok, outcome.result.problem
    assert outcome.result.verified_size == size
    return size


def test_two_processes_append_to_one_tree(
    settings: Settings, db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    audit_log.append_sync([event(0)])  # creates master.key before the children race for it
    children = [_spawn(settings), _spawn(settings)]
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
    size = _assert_one_tree(db, audit_log, signer)
    assert size == 1 + 2 * BATCHES * 5


def test_killed_appender_leaves_a_valid_log(
    settings: Settings, db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    audit_log.append_sync([event(0)])
    child = _spawn(settings, "--forever")
    other = _spawn(settings)
    assert child.stdout is not None
    deadline = time.monotonic() + 30
    lines = 0
    while lines < 10 and time.monotonic() < deadline:
        if child.stdout.readline():
            lines += 1
    assert lines == 10
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    other.communicate(timeout=120)
    assert other.returncode == 0
    size = _assert_one_tree(db, audit_log, signer)
    assert size >= 1 + 10 * 5 + BATCHES * 5
    audit_log.append_sync([event(1), event(2)])
    assert _assert_one_tree(db, audit_log, signer) == size + 2
