"""The driver-level entry pages give the same verdicts as the stored values.

``entry_pages`` hands ``time`` as PostgreSQL's binary ``timestamptz`` (read by
``moment_text``) or as the body's RFC 3339 text (SQLite's stored text is rewritten
only where it is SQLAlchemy's own form); the checks then compare strings. That must equal what
``rfc3339_micro`` wrote for every moment Python can hold (whole seconds, the
first and last microsecond of the calendar), whatever the session's time
zone, and a moment Python cannot hold must never pass.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from gateway.audit.core.canonical import leaf_hash_of_bytes
from gateway.audit.derived import DerivedCheck, moment_text
from gateway.audit.entry_stream import entry_pages
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditEntry
from gateway.audit.signer import Ed25519Signer
from gateway.audit.snapshot import read_snapshot
from gateway.audit.store import PendingEntry, rfc3339_micro, write_batch
from gateway.storage.db import Database
from tests.audit.conftest import event

MOMENTS = [
    datetime(2026, 12, 1, 4, 5, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def _write(db: Database, audit_log: AuditLog) -> None:
    batch = [
        PendingEntry(event(n, subject_pseudonym=None), moment, None, None)
        for n, moment in enumerate(MOMENTS)
    ]
    with db.session() as session:
        write_batch(session, batch, audit_log.vault)


def test_time_as_the_server_formats_it_equals_the_body(
    backend: str, db: Database, audit_log: AuditLog
) -> None:
    _write(db, audit_log)
    with read_snapshot(db) as session:
        if backend == "postgresql":
            session.execute(text("SET TIME ZONE 'Pacific/Chatham'"))
        pages = list(entry_pages(session, 3))
        rows = [row for page in pages for row in page]
        assert [row[0] for row in rows] == list(range(len(MOMENTS)))
        check = DerivedCheck(session)
        assert all(check.check(page) for page in pages)
        check.done()
        assert check.finish() is None
    for row, moment in zip(rows, MOMENTS, strict=True):
        body = row[2] if backend == "postgresql" else row[2].encode()
        assert type(body) is bytes
        expected = moment.isoformat().replace("+00:00", "")
        if "." not in expected:
            expected += ".000000"
        assert b'"time":"%s"' % (expected + "Z").encode() in body
        assert moment_text(row[3]) == expected + "Z"


@pytest.mark.parametrize(
    ("stored", "same"),
    [
        ("2026-12-01 04:05:06.000000", True),  # SQLAlchemy's own form: as written
        # The same moment to the driver, but other text: SQLite compares the column
        # as text, so each moves the entry in a time-window search.
        ("2026-12-01T04:05:06.000000", False),
        ("2026-12-01 04:05:06", False),
        ("2026-12-01 04:05:06.0000000", False),
        (" 2026-12-01 04:05:06.000000", False),
        ("2026-12-01 04:05:06.000001", False),
        ("2026-12-01 04:05:06.000000+01:00", False),
        ("2026-02-30 04:05:06.000000", False),  # the right shape, not a calendar day
    ],
)
def test_sqlite_time_must_be_the_text_the_gateway_writes(
    backend: str, db: Database, audit_log: AuditLog, stored: str, same: bool
) -> None:
    """Only SQLAlchemy's own form of the body's moment passes. Before, any text the
    driver parsed to the same moment passed (``T`` for the space, no fraction)."""
    if backend != "sqlite":
        return
    _write(db, audit_log)
    with db.session() as session:
        moment = session.execute(text("SELECT time FROM audit_entries WHERE seq = 0")).scalar()
        assert moment == "2026-12-01 04:05:06.000000"  # MOMENTS[0], as SQLAlchemy writes it
        session.execute(text("UPDATE audit_entries SET time = :t WHERE seq = 0"), {"t": stored})
    with read_snapshot(db) as session:
        pages = list(entry_pages(session, 10))
        check = DerivedCheck(session)
        assert check.check(pages[0]) is same
        if not same:
            assert check.first is not None and check.first.seq == 0
            assert "audit_entries.time" in check.first.problem


def test_a_time_rewritten_to_other_text_hides_an_entry_from_a_time_window(
    backend: str, db: Database, audit_log: AuditLog
) -> None:
    """Why the form matters: the officer's search bounds ``time`` with a bound moment,
    which SQLite compares as text. With a ``T`` for the space the entry falls out of a
    window that holds its moment, and the body (and so the Merkle tree) is unchanged:
    only the column check can catch it, and now does."""
    if backend != "sqlite":
        return
    _write(db, audit_log)
    window_end = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    in_window = select(AuditEntry.seq).where(AuditEntry.seq == 0, AuditEntry.time < window_end)
    with db.session() as session:
        assert session.scalars(in_window).all() == [0]
        session.execute(
            text("UPDATE audit_entries SET time = '2026-12-01T04:05:06.000000' WHERE seq = 0")
        )
        assert session.scalars(in_window).all() == []
    with read_snapshot(db) as session:
        check = DerivedCheck(session)
        assert not check.check(next(iter(entry_pages(session, 10))))
        assert check.first is not None and check.first.seq == 0


def test_a_moment_python_cannot_hold_is_a_mismatch(
    backend: str, db: Database, audit_log: AuditLog
) -> None:
    if backend != "postgresql":
        return  # SQLite stores text the driver parses; PostgreSQL can hold year 10000
    _write(db, audit_log)
    with db.session() as session:
        session.execute(
            text("UPDATE audit_entries SET time = '10000-01-01 00:00:00+00' WHERE seq = 3")
        )
    with read_snapshot(db) as session:
        pages = list(entry_pages(session, 10))
        assert moment_text(pages[0][3][3]) is None
        check = DerivedCheck(session)
        assert not check.check(pages[0])
        assert check.first is not None and check.first.seq == 3
        assert "audit_entries.time" in check.first.problem


def test_moment_text_reads_the_binary_time_as_the_body_writes_it() -> None:
    """PostgreSQL's binary ``timestamptz`` (microseconds since 2000-01-01 UTC, big-endian)
    as ``rfc3339_micro`` writes it; what Python cannot hold names no moment."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    for moment in MOMENTS:
        micros = (moment - epoch) // timedelta(microseconds=1)
        assert moment_text(micros.to_bytes(8, "big", signed=True)) == rfc3339_micro(moment)
        assert moment_text(moment) == rfc3339_micro(moment)
    last = (MOMENTS[-1] - epoch) // timedelta(microseconds=1)
    for beyond in (last + 1, 2**63 - 1, -(2**63)):  # year 10000, 'infinity', '-infinity'
        assert moment_text(beyond.to_bytes(8, "big", signed=True)) is None
    assert moment_text(b"\x00" * 7) is None
    assert moment_text(None) is None


def test_bodies_come_as_the_utf8_bytes_hashed_into_the_leaf(
    backend: str, db: Database, audit_log: AuditLog
) -> None:
    """Non-ASCII text: the body bytes handed over hash to the stored leaf, also when the
    session's client encoding is not UTF-8 (the server then converts the body)."""
    audit_log.append_sync([event(n, purpose="triage é ø €") for n in range(3)])
    encodings = ["UTF8", "LATIN9"] if backend == "postgresql" else ["UTF8"]
    for encoding in encodings:
        with read_snapshot(db) as session:
            if backend == "postgresql":
                session.execute(text(f"SET client_encoding TO '{encoding}'"))
            rows = [row for page in entry_pages(session, 2) for row in page]
            check = DerivedCheck(session)
            assert check.check(rows)
        assert len(rows) == 3
        for row in rows:
            body = row[2] if type(row[2]) is bytes else row[2].encode()
            assert "€".encode() in body
            assert leaf_hash_of_bytes(body) == bytes(row[1])


def test_a_time_no_moment_names_is_caught_by_the_verify(
    backend: str, db: Database, audit_log: AuditLog, signer: Ed25519Signer
) -> None:
    """``infinity`` in the time column: the body's time is not that, on every path."""
    if backend != "postgresql":
        return
    _write(db, audit_log)
    with db.session() as session:
        session.execute(text("UPDATE audit_entries SET time = 'infinity' WHERE seq = 1"))
    with read_snapshot(db) as session:
        check = DerivedCheck(session)
        assert not check.check(next(iter(entry_pages(session, 10))))
        assert check.first is not None and check.first.seq == 1
        assert "audit_entries.time" in check.first.problem
    result = verify_database(db, signer.jwks()).result
    assert not result.ok and result.first_bad_seq == 1
