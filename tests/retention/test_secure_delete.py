"""A shredded key leaves no copy in the SQLite files (review-c F6).

Crypto-shredding sets ``wrapped`` to NULL; without ``secure_delete`` the old
wrapped key stayed in the page's free space in the database file, and in the WAL
until a checkpoint. Now the pages are zeroed and erasure (and a retention run
that removed something) checkpoints and truncates the WAL. The bytes of both
files are scanned for the old wrapped key. SQLite only: PostgreSQL keeps dead
tuples until their space is reused (docs/security.md, known limits).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.audit.erasure import erase_subject
from gateway.audit.models import AuditDataKey
from gateway.policy.durations import IsoDuration
from gateway.rights.erasure import erase_person
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.storage.db import Database
from tests.retention.support import (
    SECOND,
    T0,
    add_case,
    add_key,
    pseudonym,
    run,
    runner_at,
    runtime_for,
)

WRAPPED = "dk-wrapped-" + "5ecre7" * 12
TRACE = b"5ecre7" * 3
"""Any 18 bytes of it left in a file count: zeroing leaves none."""


@pytest.fixture
def runtime(settings: Settings, backend: str) -> Iterator[Runtime]:
    if backend != "sqlite":
        pytest.skip("the database file's bytes: SQLite only")
    yield from runtime_for(settings)


def _files(runtime: Runtime) -> bytes:
    database = make_url(runtime.db.url).database
    assert database is not None
    found = b""
    for suffix in ("", "-wal"):
        path = Path(database + suffix)
        if path.exists():
            found += path.read_bytes()
    return found


def _case_with_key(runtime: Runtime, person: str) -> None:
    with runtime.db.session() as session:
        add_case(session, "c-gone", person, closed_at=T0, last_contact_at=T0)
        add_key(session, "dk-secret", person, "case", "c-gone", T0, wrapped=WRAPPED)
        for n in range(40):  # rows after it: its cell is not the page's last, as in use
            add_key(session, f"dk-other-{n}", pseudonym(100 + n), "case", f"c-other-{n}", T0)
    # In the database file itself, as a key is after any checkpoint since its creation.
    with runtime.db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert TRACE in _files(runtime)


def _shredded(runtime: Runtime) -> bool:
    with runtime.db.session() as session:
        key = session.get(AuditDataKey, "dk-secret")
        return key is not None and key.wrapped is None


def test_an_erased_persons_key_is_gone_from_the_database_files(runtime: Runtime) -> None:
    person = pseudonym(40)
    _case_with_key(runtime, person)
    erase_person(runtime.db, person, policy=runtime.foundations.current_policy()(), now=T0)
    assert _shredded(runtime)
    assert TRACE not in _files(runtime)


def test_a_key_shredded_by_retention_is_gone_from_the_database_files(runtime: Runtime) -> None:
    _case_with_key(runtime, pseudonym(41))
    report = run(runner_at(runtime, IsoDuration(years=2).add_to(T0) + SECOND))
    assert report.rule("case_after_close").counts["keys_shredded"] == 1
    assert _shredded(runtime)
    assert TRACE not in _files(runtime)


def test_a_busy_checkpoint_does_not_undo_the_erasure(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader holding the WAL keeps the checkpoint from finishing: the erasure stands
    (committed before), the error type is logged, and a later checkpoint finishes it."""
    person = pseudonym(42)
    _case_with_key(runtime, person)
    busy = Database(runtime.db.url, timeout_s=0.05)
    reader = sqlite3.connect(make_url(runtime.db.url).database or "", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM audit_data_keys").fetchone()
        with caplog.at_level(logging.WARNING, logger="ketenpoort.storage"):
            erase_subject(busy, person)
        assert "WAL checkpoint after erasure failed: busy" in caplog.messages
        assert _shredded(runtime)
    finally:
        reader.close()
        busy.dispose()
    assert runtime.db.flush_erased()
    assert TRACE not in _files(runtime)
