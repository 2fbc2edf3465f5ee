"""A brokered query whose pipelined statement or ``COMMIT`` fails discloses nothing.

On PostgreSQL the plan's verzet and consent standing go in one pipeline
(gateway/storage/reads.py), and the plan's last read and the audit batch's insert
each carry their transaction's ``COMMIT`` in the same round trip
(gateway/storage/commit_ahead.py). The promises of separate round trips hold: an
audit ``COMMIT`` the server refuses (a deferred constraint that fails at commit
time) and a failing read of the plan, pipelined with another or with ``COMMIT``, all
end in the same fail-closed 503 problem, with no record, field or BSN in the
answer, nothing of the failed batch in the log, and the next query answered.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from tests.brokering.support import is_problem
from tests.support.pg_wire import wire_round_trips
from tests.support.stack import open_demo_case

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _refuse_audit_commits(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION kp_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION USING ERRCODE = '23514', "
                "MESSAGE = 'refused at commit'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER kp_refuse_at_commit AFTER INSERT ON audit_entries "
                "DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION kp_refuse_at_commit()"
            )
        )


def _head(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT size FROM audit_head")).scalar_one())


def _assert_fail_closed(answer: object) -> None:
    assert answer.status_code == 503, answer.text  # type: ignore[attr-defined]
    assert is_problem(answer)  # type: ignore[arg-type]
    body = answer.text  # type: ignore[attr-defined]
    assert demo_people()[0].bsn.reveal() not in body
    assert "records" not in body and "results" not in body


def test_a_refused_audit_commit_fails_closed(stack: Stack) -> None:
    client, case_id = open_demo_case(stack)
    assert client.query(case_id, ["huisvesting"]).status_code == 200  # warm
    engine = stack.runtime.db.engine
    before = _head(engine)
    _refuse_audit_commits(engine)
    with wire_round_trips(engine, ignore_threads=("audit-checkpointer",)) as wire:
        answer = client.query(case_id, ["huisvesting"])
    _assert_fail_closed(answer)
    # It was the COMMIT sent with the insert that the server refused.
    assert wire.sent.count('"" "COMMIT" 0') >= 2, wire.sent
    assert '"COMMIT"' not in wire.sent, wire.sent
    assert _head(engine) == before  # rolled back: no entry of the refused batch
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER kp_refuse_at_commit ON audit_entries"))
    again = client.query(case_id, ["huisvesting"])
    assert again.status_code == 200, again.text
    assert _head(engine) > before


@pytest.mark.parametrize(
    ("table", "column", "read"),
    [
        # sent together in one pipeline (gateway/storage/reads.py)
        ("rights_requests", "cases_json", "SELECT rights_requests.cases_json"),
        ("consent_requests", "categories_json", "SELECT consent_requests.id"),
        # the plan's last read, sent with COMMIT
        ("audit_data_keys", "wrapped", "SELECT audit_data_keys.key_id"),
    ],
)
def test_a_failing_pipelined_read_of_the_plan_fails_closed(
    stack: Stack, table: str, column: str, read: str
) -> None:
    client, case_id = open_demo_case(stack)
    assert client.query(case_id, ["huisvesting"]).status_code == 200  # warm
    engine = stack.runtime.db.engine
    before = _head(engine)
    with engine.begin() as connection:  # the read now fails on the server
        connection.execute(text(f"ALTER TABLE {table} RENAME COLUMN {column} TO kp_gone"))
    with wire_round_trips(engine, ignore_threads=("audit-checkpointer",)) as wire:
        answer = client.query(case_id, ["huisvesting"])
    _assert_fail_closed(answer)
    assert any(sent.startswith(f'"" "{read}') for sent in wire.sent), wire.sent
    if table == "audit_data_keys":  # Parse, Bind, then COMMIT in the same pipeline
        at = max(i for i, sent in enumerate(wire.sent) if sent.startswith(f'"" "{read}'))
        assert wire.sent[at + 2] == '"" "COMMIT" 0', wire.sent
    assert _head(engine) == before  # no disclosure entry: nothing was asked of a source
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {table} RENAME COLUMN kp_gone TO {column}"))
    again = client.query(case_id, ["huisvesting"])
    assert again.status_code == 200, again.text
