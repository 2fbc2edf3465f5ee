"""The Source API wire models shared by connectors, demo sources and the push endpoint."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.source_api import parse_pushed_deletions
from gateway.subjects.bsn import Bsn


def test_pushed_deletions_become_events() -> None:
    content = (
        b'{"events": [{"record_id": "r-1", "subject": {"bsn": "999990019"},'
        b' "category": "huisvesting", "deleted_at": "2026-10-05T12:00:00Z", "extra": 1}]}'
    )

    [event] = parse_pushed_deletions(content)

    assert event.record_id == "r-1"
    assert event.subject == Bsn("999990019")
    assert event.deleted_at.tzinfo is not None


@pytest.mark.parametrize(
    "content",
    [
        b'{"events": [{"record_id": "r-1", "subject": {"bsn": "999990018"},'
        b' "category": "huisvesting", "deleted_at": "2026-10-05T12:00:00Z"}]}',
        b'{"events": [{"record_id": "r-1", "subject": {"bsn": 999990019},'
        b' "category": "huisvesting", "deleted_at": "2026-10-05T12:00:00Z"}]}',
        b'{"events": [{"record_id": "r-1", "subject": {"bsn": "999990019"},'
        b' "category": "huisvesting", "deleted_at": "2026-10-05T12:00:00"}]}',
        b'{"events": "all"}',
    ],
    ids=["bad-bsn", "number-bsn", "naive-time", "not-a-list"],
)
def test_bad_pushes_are_refused(content: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_pushed_deletions(content)
