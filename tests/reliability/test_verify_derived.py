"""``audit verify`` covers what inzage and the FG search read, not only the hashed bodies.

Inzage selects a person's disclosures through ``audit_subject_index`` and the
``kind`` column; the FG search filters on ``party``, ``purpose``, ``case_id``,
``outcome`` and ``time``. None of these are in the leaf hash, so each edit here
left every root intact while the person's inzage or the FG's results changed.
Verify now recomputes each of them from the verified body and names the first
bad seq and the column or index that is wrong.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gateway.audit.core.offline_verify import VerifyResult
from gateway.audit.erasure import erase_subject
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditDataKey, AuditEntry, AuditSubjectIndex
from gateway.audit.signer import Ed25519Signer
from gateway.cli.main import app
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.audit.conftest import SUBJECT_A, SUBJECT_B, event
from tests.web.conftest import Gateway, gateway, hidden_fields, login

__all__ = ["gateway"]  # the real-gateway fixture, shared with tests/web

N = 40
Tamper = Callable[[Session], None]


@pytest.fixture
def filled(settings: Settings, db: Database, signer: Ed25519Signer) -> Iterator[AuditLog]:
    """N entries with subjects, entries 35..39 without one, signed up to N."""
    log = build_audit_log(settings, db, signer)
    log.append_sync([event(n) for n in range(35)])
    log.checkpoint_now()
    log.append_sync([event(n, subject_pseudonym=None) for n in range(35, N)])
    log.checkpoint_now()
    yield log
    log.stop()


def _verify(db: Database, signer: Ed25519Signer, log: AuditLog | None = None) -> VerifyResult:
    return verify_database(db, signer.jwks(), vault=log.vault if log else None).result


def _tamper(db: Database, change: Tamper) -> None:
    with db.session() as session:
        change(session)


def _set(seq: int, **values: object) -> Tamper:
    def change(session: Session) -> None:
        session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(**values))

    return change


def _index_row(session: Session, seq: int) -> tuple[str, str]:
    row = session.execute(
        select(AuditSubjectIndex.pseudonym, AuditSubjectIndex.key_id).where(
            AuditSubjectIndex.seq == seq
        )
    ).one()
    return str(row[0]), str(row[1])


def _shift_time(seq: int) -> Tamper:
    def change(session: Session) -> None:
        moment = session.scalars(select(AuditEntry.time).where(AuditEntry.seq == seq)).one()
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == seq)
            .values(time=moment - timedelta(days=400))
        )

    return change


def _delete_index(seq: int) -> Tamper:
    def change(session: Session) -> None:
        session.execute(delete(AuditSubjectIndex).where(AuditSubjectIndex.seq == seq))

    return change


def _bogus_index(seq: int, from_seq: int) -> Tamper:
    """Attach the person of entry ``from_seq`` (same pseudonym and key) to entry ``seq``."""

    def change(session: Session) -> None:
        pseudonym, key_id = _index_row(session, from_seq)
        session.execute(
            insert(AuditSubjectIndex).values(pseudonym=pseudonym, seq=seq, key_id=key_id)
        )

    return change


def _move_index(seq: int, to: str) -> Tamper:
    def change(session: Session) -> None:
        session.execute(
            update(AuditSubjectIndex).where(AuditSubjectIndex.seq == seq).values(pseudonym=to)
        )

    return change


CASES: dict[str, tuple[Tamper, int, str]] = {
    # name: (edit, first bad seq, words the problem must contain)
    "kind": (_set(21, kind="decision"), 21, "audit_entries.kind"),
    "party": (_set(13, party="gemeente"), 13, "audit_entries.party"),
    "outcome": (_set(8, outcome="denied"), 8, "audit_entries.outcome"),
    "purpose": (_set(30, purpose="anders"), 30, "audit_entries.purpose"),
    "case_id": (_set(4, case_id="c-other"), 4, "audit_entries.case_id"),
    # the privacy officer's covenant scope reads this column (docs/audit.md)
    "convenant": (_set(17, convenant="zvh-other"), 17, "audit_entries.convenant"),
    "party_to_null": (_set(27, party=None), 27, "audit_entries.party"),
    "time": (_shift_time(19), 19, "audit_entries.time"),
    "index_row_deleted": (_delete_index(11), 11, "audit_subject_index lacks"),
    "bogus_row_on_subjectless_entry": (_bogus_index(37, 3), 37, "audit_subject_index"),
    "bogus_second_row": (_bogus_index(6, 3), 6, "audit_subject_index"),
    "index_row_moved_to_another_person": (_move_index(15, "c" * 64), 15, "audit_subject_index"),
    "row_past_the_log": (_bogus_index(N + 3, 1), N + 3, "not in the log"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_derived_column_and_index_edit_is_found(
    name: str, filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    """Promise 6, tamper evidence: an edit of a column or index row that inzage and the
    FG search read, body untouched, fails verify at exactly that seq."""
    change, seq, words = CASES[name]
    assert _verify(db, signer).ok
    _tamper(db, change)
    result = _verify(db, signer)
    assert not result.ok, name
    assert result.first_bad_seq == seq, result.problem
    assert words in (result.problem or ""), result.problem
    for pseudonym in (SUBJECT_A, SUBJECT_B):
        assert pseudonym not in (result.problem or ""), "the problem never names a person"


def test_the_first_of_several_edits_is_named(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    """Promise 6, tamper evidence: with edits at 33, 22 and 9, the report names 9."""
    _tamper(db, _set(33, kind="case"))
    _tamper(db, _delete_index(22))
    _tamper(db, _set(9, party="iemand"))
    result = _verify(db, signer)
    assert (result.ok, result.first_bad_seq) == (False, 9)


def test_a_consistent_relink_to_another_person_is_found_with_the_master_key(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    """Promise 6, tamper evidence: moving a data key and all its index rows to another
    pseudonym is consistent between tables; only opening the sealed subject shows it."""
    with db.session() as session:
        _pseudonym, key_id = _index_row(session, 2)
        first = min(
            session.scalars(select(AuditSubjectIndex.seq).where(AuditSubjectIndex.key_id == key_id))
        )
        session.execute(
            update(AuditDataKey)
            .where(AuditDataKey.key_id == key_id)
            .values(subject_pseudonym="d" * 64)
        )
        session.execute(
            update(AuditSubjectIndex)
            .where(AuditSubjectIndex.key_id == key_id)
            .values(pseudonym="d" * 64)
        )
    assert _verify(db, signer).ok, "without the master key the tables agree with each other"
    result = _verify(db, signer, filled)
    assert not result.ok
    assert result.first_bad_seq == first
    assert "sealed" in (result.problem or "")


def test_untouched_and_erased_logs_pass(
    filled: AuditLog, db: Database, signer: Ed25519Signer
) -> None:
    """Promise 6 and 7: an untouched log passes every check, also after crypto-shredding
    removed a person's keys and index rows (no false alarm for a lawful erasure)."""
    result = _verify(db, signer, filled)
    assert result.ok, result.problem
    assert result.entries == N
    counts = erase_subject(db, SUBJECT_A)
    assert counts.keys_erased > 0 and counts.index_rows_deleted > 0
    filled.append_sync([event(n) for n in range(N, N + 6)])
    filled.checkpoint_now()
    result = _verify(db, signer, filled)
    assert result.ok, result.problem
    assert result.entries == N + 6


def test_cli_verify_names_the_seq_and_column(settings: Settings) -> None:
    """Promise 6, tamper evidence: ``ketenpoort audit verify`` fails with exit 1 on a
    changed ``kind`` column and names its seq and the column."""
    runtime = Runtime.build(settings)
    runtime.keys.ensure()
    runtime.audit.append_sync([event(n) for n in range(25)])
    runtime.audit.checkpoint_now()
    _tamper(runtime.db, _set(12, kind="case"))
    runtime.close()
    env = {
        "KETENPOORT_DATABASE_URL": settings.database_url,
        "KETENPOORT_KEY_DIR": str(settings.key_dir),
        "KETENPOORT_DEV_MODE": "true",
    }
    result = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 1, result.output
    assert "first bad seq 12" in result.output
    assert "audit_entries.kind" in result.output


def _run_full_check(client: httpx.Client) -> str:
    form = hidden_fields(client.get("/privacy").text)
    started = client.post("/privacy/verify", data={"csrf_token": form["csrf_token"]})
    assert started.status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get("/privacy").text
        if "Volledige controle starten" in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the full check did not finish")


def test_privacy_page_full_check_finds_a_changed_kind(gateway: Gateway) -> None:
    """Promise 6, tamper evidence: the FG starts the full check on /privacy; it passes on
    the untouched log and names the seq once the disclosure's ``kind`` is changed (which
    would drop it from the person's inzage)."""
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    assert "Nog niet uitgevoerd" in client.get("/privacy").text
    page = _run_full_check(client)
    # the FG's own page views are entries too (kind audit), so the count grows with them
    assert re.search(r"In orde</span>: \d+ regels", page), page
    disclosure = gateway.seqs[0]
    _tamper(gateway.runtime.db, _set(disclosure, kind="decision"))
    page = _run_full_check(client)
    assert "Niet in orde" in page
    assert f"vanaf regel {disclosure}" in page
    assert "audit_entries.kind" in page


def test_privacy_full_check_needs_the_csrf_token(gateway: Gateway) -> None:
    """Promise 6: starting the full check is a state change behind the CSRF check."""
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    refused = client.post("/privacy/verify", data={})
    assert refused.status_code == 403
    assert "Nog niet uitgevoerd" in client.get("/privacy").text
