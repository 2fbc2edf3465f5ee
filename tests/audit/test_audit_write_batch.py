"""``write_batch`` converts each distinct moment once: the rows it stores are the ones
converting every row did (time column and body text), for shared, distinct, other-zone
and naive moments alike; and a batch's cached data keys are checked live in one statement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from gateway.audit.erasure import erase_subject
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditDataKey, AuditEntry
from gateway.audit.store import PendingEntry, rfc3339_micro, write_batch
from gateway.storage.db import Database
from gateway.storage.types import as_utc
from tests.audit.conftest import SUBJECT_A, event

SHARED = datetime(2026, 12, 1, 20, 30, 0, 123456, tzinfo=UTC)
MOMENTS = [
    SHARED,
    SHARED,
    datetime(2026, 12, 1, 21, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1))),  # == SHARED
    SHARED,
    datetime(2026, 12, 1, 20, 30, 0, 123457, tzinfo=UTC),
    datetime(2026, 12, 1, 20, 30, 0, 123457, tzinfo=UTC),  # equal, another object
    SHARED,
]
NAIVE = datetime(2026, 12, 1, 20, 31)
# Naive moments are taken as UTC (the test session's zone); a batch mixing naive and
# aware moments is refused on PostgreSQL by psycopg's own list dumper, as it was before.
NAIVE_MOMENTS = [NAIVE, NAIVE, datetime(2026, 12, 1, 20, 32), NAIVE]


@pytest.mark.parametrize("moments", [MOMENTS, NAIVE_MOMENTS], ids=["aware", "naive"])
def test_each_row_holds_its_own_moment(
    db: Database, audit_log: AuditLog, moments: list[datetime]
) -> None:
    batch = [PendingEntry(event(n), moment, None, None) for n, moment in enumerate(moments)]
    with db.transaction() as session:
        seqs, _edge = write_batch(session, batch, audit_log.vault)
    assert seqs == list(range(len(moments)))
    with db.session() as session:
        rows = session.execute(select(AuditEntry.time, AuditEntry.body).order_by(AuditEntry.seq))
        stored = [(time, json.loads(body)["time"]) for time, body in rows]
    assert [time for time, _text in stored] == [as_utc(moment) for moment in moments]
    assert [text for _time, text in stored] == [rfc3339_micro(moment) for moment in moments]


def test_a_batch_of_cached_keys_never_seals_under_an_erased_one(
    db: Database, audit_log: AuditLog
) -> None:
    """Several cached keys checked in one statement (a list parameter): the erased
    case's key is not returned live, so its entries get a fresh key; the others keep
    theirs and are stamped as used by this batch."""
    audit_log.append_sync([event(n) for n in range(6)])  # 2 subjects x 3 cases: 6 keys
    before = _keys_by_spec(db)
    assert len(before) == 6
    erase_subject(db, SUBJECT_A, case="c-1")
    moment = datetime.now(UTC)
    batch = [PendingEntry(event(n), moment, None, None) for n in range(6, 12)]
    with db.transaction() as session:
        write_batch(session, batch, audit_log.vault)
    after = _keys_by_spec(db)
    erased = (SUBJECT_A, "c-1")
    assert after[erased][0] != before[erased][0]  # a fresh key for the erased case
    for spec, (key_id, used) in after.items():
        if spec != erased:
            assert key_id == before[spec][0]
            assert used >= moment > before[spec][1]
    with db.session() as session:
        sealed_under = {
            json.loads(body)["subject"]["key"]
            for (body,) in session.execute(select(AuditEntry.body).where(AuditEntry.seq >= 6))
        }
    assert before[erased][0] not in sealed_under
    assert sealed_under == {key_id for key_id, _used in after.values()}


def _keys_by_spec(db: Database) -> dict[tuple[str, str], tuple[str, datetime]]:
    """The live key per (pseudonym, case): its id and when it was last used."""
    with db.session() as session:
        rows = session.execute(
            select(
                AuditDataKey.subject_pseudonym,
                AuditDataKey.case_id,
                AuditDataKey.key_id,
                AuditDataKey.last_used_at,
            ).where(AuditDataKey.wrapped.is_not(None))
        )
        return {(str(p), case): (key_id, used) for p, case, key_id, used in rows}
