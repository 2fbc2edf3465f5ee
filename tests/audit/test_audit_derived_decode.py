"""The derived-column check decodes only the compared fields, with the full parse's verdicts.

:class:`gateway.audit.derived.DerivedCheck` first decodes a page into a struct of
the eight fields it compares (msgspec) and falls back to pydantic's full parse
for any page that does not decode or does not match. These pages are built by
hand (no log behind them) so each edge the two decoders could differ on is
fed to it directly: the verdict and the message must be those of the full
parse, whichever path found them.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.audit.derived import DerivedCheck, Mismatch
from gateway.audit.snapshot import read_snapshot
from gateway.storage.db import Database

TIME = "2026-12-01T04:05:06.000001Z"
COLUMNS = (TIME, "disclosure", "ok", "politie", "triage", "c-1", "zvh-demo")
BODY = (
    b'{"case":"c-1","convenant":"zvh-demo","details":{"kind":"decision"},"kind":"disclosure",'
    b'"outcome":"ok","party":"politie","purpose":"triage","seq":%d,"subject":null,'
    b'"time":"2026-12-01T04:05:06.000001Z"}'
)


def _rows(bodies: list[bytes], columns: tuple[Any, ...] = COLUMNS) -> list[tuple[Any, ...]]:
    return [(seq, b"\0" * 32, body, *columns) for seq, body in enumerate(bodies)]


def _verdict(db: Database, rows: list[tuple[Any, ...]]) -> Mismatch | None:
    with read_snapshot(db) as session:
        check = DerivedCheck(session)
        check.check(rows)
        assert not check.stopped
        check.done()
        return check.finish()


def test_matching_columns_pass_with_a_nested_field_of_the_same_name(db: Database) -> None:
    assert _verdict(db, _rows([BODY % n for n in range(3)])) is None


@pytest.mark.parametrize(
    ("column", "at", "value", "problem"),
    [
        ("kind", 1, "decision", "audit_entries.kind differs from the entry's 'kind'"),
        ("case_id", 5, None, "audit_entries.case_id differs from the entry's 'case'"),
        ("time", 0, None, "audit_entries.time differs"),
        ("time", 0, "2026-12-01T04:05:06.000002Z", "audit_entries.time differs"),
    ],
)
def test_a_changed_column_is_named_as_by_the_full_parse(
    db: Database, column: str, at: int, value: Any, problem: str
) -> None:
    bodies = [BODY % n for n in range(3)]
    rows = _rows(bodies)
    changed = list(rows[2])
    changed[3 + at] = value
    rows[2] = tuple(changed)
    found = _verdict(db, rows)
    assert found is not None and found.seq == 2 and problem in found.problem


def test_a_body_without_time_never_matches_a_column_without_one(db: Database) -> None:
    """PostgreSQL hands ``NULL`` for a moment it cannot format: never equal to a missing time."""
    body = BODY.replace(b',"time":"2026-12-01T04:05:06.000001Z"', b"")
    found = _verdict(db, _rows([body % 0], (None, *COLUMNS[1:])))
    assert found is not None and "audit_entries.time" in found.problem


def test_duplicate_keys_count_as_the_full_parse_counts_them(db: Database) -> None:
    """The last of two ``kind`` keys is the body's kind, in both decoders."""
    body = BODY.replace(b'"kind":"disclosure"', b'"kind":"decision","kind":"disclosure"')
    assert _verdict(db, _rows([body % 0])) is None
    body = BODY.replace(b'"kind":"disclosure"', b'"kind":"disclosure","kind":"decision"')
    found = _verdict(db, _rows([body % 0]))
    assert found is not None and "audit_entries.kind" in found.problem


@pytest.mark.parametrize(
    "field", [b'"seq":NaN', b'"seq":123456789012345678901234567890', b'"seq":1e999']
)
def test_a_body_only_the_full_parser_reads_gets_its_verdict(db: Database, field: bytes) -> None:
    body = BODY.replace(b'"seq":%d', field)
    assert _verdict(db, _rows([body])) is None
    found = _verdict(db, _rows([body], (*COLUMNS[:2], "denied", *COLUMNS[3:])))
    assert found is not None and "audit_entries.outcome" in found.problem


def test_a_field_of_another_type_is_a_mismatch(db: Database) -> None:
    body = BODY.replace(b'"party":"politie"', b'"party":7')
    found = _verdict(db, _rows([body % 0], (*COLUMNS[:3], "7", *COLUMNS[4:])))
    assert found is not None and "audit_entries.party" in found.problem
    body = BODY.replace(b'"time":"2026-12-01T04:05:06.000001Z"', b'"time":1')
    found = _verdict(db, _rows([body % 0]))
    assert found is not None and "audit_entries.time" in found.problem
