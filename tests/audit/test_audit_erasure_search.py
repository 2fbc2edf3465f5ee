"""Crypto-shredding and the privacy officer's search: erased people cannot be found
or read, the log still verifies; pages and filters; anomaly signals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import gateway.audit.subject_keys as subject_keys
from gateway.audit.anomalies import denial_bursts, many_subjects
from gateway.audit.erasure import STRAFRECHTELIJK_RETENTION, erase_subject
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditDataKey, AuditSubjectIndex
from gateway.audit.search import EntryQuery, search_entries
from gateway.audit.signer import Ed25519Signer
from gateway.policy.criminal_log import WJSG_MINIMUM
from gateway.policy.durations import IsoDuration
from gateway.storage.db import Database
from tests.audit.conftest import SUBJECT_A, SUBJECT_B, event


def _search(db: Database, log: AuditLog, **filters: object) -> list[dict[str, object]]:
    with db.session() as session:
        return search_entries(session, log.vault, EntryQuery(**filters, limit=500)).entries  # type: ignore[arg-type]


def test_officer_sees_pseudonym_and_employee_until_erased(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    audit_log.append_sync([event(n, encrypt_employee=True) for n in range(20)])
    found = _search(db, audit_log, subject_pseudonym=SUBJECT_A)
    assert len(found) == 10
    assert {e["subject"] for e in found} == {SUBJECT_A}
    assert {e["employee"] for e in found} <= {f"emp-{i}" for i in range(7)}
    assert all(len(str(e["leaf_hash"])) == 64 for e in found)

    counts = erase_subject(db, SUBJECT_A)
    assert counts.keys_erased == 3  # cases c-0, c-1, c-2
    assert counts.index_rows_deleted == 10

    assert _search(db, audit_log, subject_pseudonym=SUBJECT_A) == []
    by_party = _search(db, audit_log, party="politie")
    assert len(by_party) == 10
    assert {e["subject"] for e in by_party} == {"erased"}
    assert {e["employee"] for e in by_party} == {"erased"}
    assert {e["subject"] for e in _search(db, audit_log, party="gemeente")} == {SUBJECT_B}
    audit_log.checkpoint_now()
    assert verify_database(db, signer.jwks()).result.ok


def test_erasing_one_case_keeps_the_others(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(n) for n in range(12)])
    counts = erase_subject(db, SUBJECT_A, case="c-1")
    assert counts.keys_erased == 1
    remaining = _search(db, audit_log, subject_pseudonym=SUBJECT_A)
    assert remaining and all(e["case"] != "c-1" for e in remaining)


def test_new_entries_after_erasure_get_a_fresh_key(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(1)])
    erase_subject(db, SUBJECT_A)
    audit_log.append_sync([event(3)])
    found = _search(db, audit_log, subject_pseudonym=SUBJECT_A)
    assert [e["seq"] for e in found] == [1]
    assert found[0]["subject"] == SUBJECT_A


def test_strafrechtelijk_records_outlive_early_erasure(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync(
        [event(1), event(3, subject_scope="strafrechtelijk", category="justitiele_documentatie")]
    )
    counts = erase_subject(db, SUBJECT_A)
    assert (counts.keys_erased, counts.strafrechtelijk_kept) == (1, 1)
    kept = _search(db, audit_log, subject_pseudonym=SUBJECT_A)
    assert [e["subject_scope"] for e in kept] == ["strafrechtelijk"]
    later = datetime.now(UTC) + STRAFRECHTELIJK_RETENTION + timedelta(days=1)
    counts = erase_subject(db, SUBJECT_A, now=later)
    assert (counts.keys_erased, counts.strafrechtelijk_kept) == (1, 0)
    assert _search(db, audit_log, subject_pseudonym=SUBJECT_A) == []


def test_a_criminal_key_used_while_erasure_judges_its_floor_is_kept(
    audit_log: AuditLog, db: Database
) -> None:
    """Review-drops: the floor was judged on a ``last_used_at`` read without a lock, so
    a key a disclosure used a moment later was shredded on the old date, and the entry
    of that disclosure became unreadable within the Wjsg floor."""
    criminal = {"subject_scope": "strafrechtelijk", "category": "justitiele_documentatie"}
    audit_log.append_sync([event(3, **criminal)])
    used_again: list[int] = []

    def floor_then_use(case: str, covenant: str | None) -> IsoDuration:
        if not used_again:  # an append uses the key while the erasure judges it
            used_again.append(1)
            audit_log.append_sync([event(3, **criminal)])
        return WJSG_MINIMUM

    later = datetime.now(UTC) + STRAFRECHTELIJK_RETENTION + timedelta(days=1)
    counts = erase_subject(db, SUBJECT_A, now=later, criminal_floor=floor_then_use)
    assert used_again
    assert (counts.keys_erased, counts.strafrechtelijk_kept) == (0, 1)
    assert len(_search(db, audit_log, subject_pseudonym=SUBJECT_A)) == 2, "both readable"


def test_rights_requests_use_a_per_subject_key(audit_log: AuditLog, db: Database) -> None:
    rights = event(1, kind="rights", outcome="received", case=None, subject_scope="subject")
    audit_log.append_sync([rights, event(3)])
    erase_subject(db, SUBJECT_A, case="c-0")
    assert len(_search(db, audit_log, subject_pseudonym=SUBJECT_A)) == 1
    erase_subject(db, SUBJECT_A)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditSubjectIndex)) == 0


def test_pages_are_disjoint_and_complete(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(n) for n in range(53)])
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        with db.session() as session:
            page = search_entries(session, audit_log.vault, EntryQuery(cursor=cursor, limit=10))
        seen.extend(int(e["seq"]) for e in page.entries)
        pages += 1
        if page.next is None:
            break
        cursor = page.next
    assert pages == 6
    assert seen == list(range(52, -1, -1))


def test_filters_combine(audit_log: AuditLog, db: Database) -> None:
    audit_log.append_sync([event(n) for n in range(30)])
    denied = _search(db, audit_log, outcome="denied", party="gemeente")
    assert {int(e["seq"]) for e in denied} == {0, 10, 20}
    assert len(_search(db, audit_log, kind="decision", case="c-0")) == 2
    now = datetime.now(UTC)
    assert len(_search(db, audit_log, time_from=now - timedelta(minutes=1))) == 30
    assert _search(db, audit_log, time_to=now - timedelta(minutes=1)) == []


def test_anomaly_signals(audit_log: AuditLog, db: Database) -> None:
    many = [
        event(1, party="nieuwsgierig", subject_pseudonym=f"{i:064x}", case=f"c-{i}")
        for i in range(12)
    ]
    denials = [event(0, party="volhouder") for _ in range(8)]
    audit_log.append_sync([*many, *denials, event(3)])
    with db.session() as session:
        wide = many_subjects(session, threshold=10)
        bursts = denial_bursts(session, threshold=5)
        old = many_subjects(session, threshold=10, now=datetime.now(UTC) + timedelta(hours=2))
    assert [(s.party, s.count) for s in wide] == [("nieuwsgierig", 12)]
    assert [(s.party, s.count) for s in bursts] == [("volhouder", 8)]
    assert old == []


def test_an_erasure_between_reading_a_key_and_using_it_leaves_no_index_row(
    audit_log: AuditLog, db: Database, signer: Ed25519Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review-perf F2: a key not in the cache was read without a lock and then stamped
    used without asking whether it was still live; an erasure in between let the
    append index the erased person's pseudonym to her shredded key, after the
    erasure had deleted her index rows and reported success."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the appender holds the one write lock, an erasure waits")
    audit_log.append_sync([event(1)])  # SUBJECT_A's key for case c-1 exists
    audit_log.vault._cache.clear()  # as after a restart, or in another instance
    unwrap = subject_keys.DataKey.unwrap
    erased: list[object] = []

    def unwrap_then_erase(master: bytes, key_id: str, wrapped: str) -> object:
        key = unwrap(master, key_id, wrapped)
        if not erased:
            worker = threading.Thread(target=lambda: erased.append(erase_subject(db, SUBJECT_A)))
            worker.start()
            worker.join(30)
        return key

    monkeypatch.setattr(subject_keys.DataKey, "unwrap", staticmethod(unwrap_then_erase))
    audit_log.append_sync([event(1)])
    assert erased, "the erasure ran while the append held the key it had read"

    with db.session() as session:
        stranded = session.scalar(
            select(func.count())
            .select_from(AuditSubjectIndex)
            .join(AuditDataKey, AuditDataKey.key_id == AuditSubjectIndex.key_id)
            .where(AuditDataKey.wrapped.is_(None))
        )
    assert stranded == 0, "no index row names a shredded key"
    found = _search(db, audit_log, subject_pseudonym=SUBJECT_A)
    assert len(found) == 1, "the new entry is sealed under a fresh key, readable"
    audit_log.checkpoint_now()
    assert verify_database(db, signer.jwks()).result.ok
