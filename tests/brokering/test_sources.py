"""What comes back from sources: minimised, on time, traced, logged first (fail-closed)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.demo.source_app import LEAKY_ERROR_BODY
from gateway.demo.stack import Stack
from gateway.demodata.people import EXTRA_FIELD
from tests.brokering.support import (
    BSN,
    audit_entries,
    change_covenant,
    is_problem,
    open_case,
    party_block,
    results,
    sqlite_partner,
)

HUISVESTING_FIELDS = {"woonsituatie", "sinds", "adres", "huurachterstand", "dreigende_uitzetting"}


def test_extra_source_fields_never_leave_and_the_trimming_is_logged(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    response = gemeente.query(case_id, ["huisvesting", "dagbesteding_arbeid_opleiding"])
    assert EXTRA_FIELD not in response.text
    found = results(response)
    trimmed_sources = {"reclassering-demo", "woningcorporatie-demo"}
    for source in trimmed_sources:
        result = found[(source, "huisvesting")]
        assert result["status"] == "ok"
        assert result["records"]
        for record in result["records"]:
            assert set(record["fields"]) <= HUISVESTING_FIELDS
    disclosures = {
        (e["source"], e["category"]): e
        for e in audit_entries(stack, case_id)
        if e["kind"] == "disclosure"
    }
    assert disclosures[("woningcorporatie-demo", "huisvesting")]["trimmed_fields"] > 0
    assert disclosures[("reclassering-demo", "huisvesting")]["trimmed_fields"] > 0
    assert disclosures[("gemeente-demo", "huisvesting")]["trimmed_fields"] == 0
    assert disclosures[("woningcorporatie-demo", "huisvesting")]["records"] >= 1


def test_a_slow_source_is_unavailable_within_its_timeout(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, consent=True)
    # The covenant gives it 2.0 s; it would answer after 4.0 s. Had the gateway waited
    # past its timeout, the answer would be "ok": the status proves the cut-off without
    # a clock in the test (a wall-clock bound flakes on a loaded machine).
    stack.sources.source("ggz-demo").delay_s = 4.0
    response = gemeente.query(case_id, ["psychisch_welzijn", "huisvesting"])
    found = results(response)
    slow = found[("ggz-demo", "psychisch_welzijn")]
    assert (slow["status"], slow["reason"]) == ("unavailable", "timeout")
    assert "records" not in slow
    assert found[("gemeente-demo", "huisvesting")]["status"] == "ok"
    assert found[("woningcorporatie-demo", "huisvesting")]["status"] == "ok"


def test_a_failing_source_is_unavailable_and_its_error_body_stays_out(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, consent=True)
    stack.sources.source("ggz-demo").fail = True
    response = gemeente.query(case_id, ["psychisch_welzijn", "huisvesting"])
    found = results(response)
    failing = found[("ggz-demo", "psychisch_welzijn")]
    assert failing["status"] == "unavailable"
    assert failing["reason"] == "bad_status"
    for secret in ("demo-db-secret-4711", "Traceback", "db.internal", LEAKY_ERROR_BODY):
        assert secret not in response.text
    assert "demo-db-secret-4711" not in json.dumps(audit_entries(stack, case_id))
    assert found[("gemeente-demo", "huisvesting")]["status"] == "ok"


def test_the_source_sees_the_trace_of_the_response(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, consent=True)
    response = gemeente.query(case_id, ["psychisch_welzijn"])
    trace_id = response.json()["trace_id"]
    assert isinstance(trace_id, str) and len(trace_id) == 32
    traceparent = stack.sources.source("ggz-demo").last_traceparent
    assert traceparent is not None
    version, source_trace, _span, _flags = traceparent.split("-")
    assert version == "00"
    assert source_trace == trace_id
    # the case and its recorded ground were logged by earlier requests, each with its own trace
    query_entries = [
        e for e in audit_entries(stack, case_id) if e["kind"] not in {"case", "ground"}
    ]
    assert {e["trace_id"] for e in query_entries} == {trace_id}


def test_no_disclosure_when_the_audit_log_cannot_be_written(stack: Stack) -> None:
    gemeente, case_id = open_case(stack, consent=True)
    engine = stack.runtime.db.engine
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
    try:
        response = gemeente.query(case_id, ["huisvesting", "psychisch_welzijn"])
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
    assert response.status_code == 503, response.text
    assert is_problem(response)
    body = response.json()
    assert "records" not in response.text
    assert "results" not in body
    assert "dakloos" not in response.text
    after = results(gemeente.query(case_id, ["huisvesting"]))
    assert after[("gemeente-demo", "huisvesting")]["status"] == "ok"


def _postgres_partner(gateway_url: str) -> str:
    schema = f"partner_{uuid.uuid4().hex[:10]}"
    base = make_url(gateway_url)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(
            text(
                f'CREATE TABLE "{schema}".woning (id TEXT, bsn TEXT, updated TIMESTAMPTZ, '
                "woonsituatie TEXT, sinds DATE, adres TEXT, interne_notitie TEXT)"
            )
        )
        connection.execute(
            text(
                f'INSERT INTO "{schema}".woning VALUES '
                "('w-1', :bsn, '2026-10-02T08:00:00Z', 'huurwoning', '2020-01-01', "
                "'Dorpsstraat 1', 'achterstand, niet delen'), "
                "('w-2', '999990019', '2026-10-02T08:00:00Z', 'begeleid', '2021-01-01', "
                "'Kerkplein 2', 'iemand anders')"
            ),
            {"bsn": BSN},
        )
    engine.dispose()
    partner = base.update_query_dict({"options": f"-csearch_path={schema}"})
    return partner.render_as_string(hide_password=False)


def test_sql_connector_against_a_real_partner_database(
    stack: Stack, backend: str, migrated_url: str, tmp_path: Path
) -> None:
    url = (
        sqlite_partner(tmp_path / "woningcorporatie.db")
        if backend == "sqlite"
        else _postgres_partner(migrated_url)
    )

    def to_sql(document: dict[str, Any]) -> None:
        party_block(document, "woningcorporatie-demo")["source"] = {
            "type": "sql",
            "url": url,
            "timeout_s": 2.0,
            "queries": {
                "huisvesting": "SELECT id, updated, woonsituatie, sinds, adres, interne_notitie "
                "FROM woning WHERE bsn = :bsn"
            },
        }

    change_covenant(stack, to_sql)
    gemeente, case_id = open_case(stack)
    response = gemeente.query(case_id, ["huisvesting"], ["woningcorporatie-demo"])
    assert "niet delen" not in response.text
    assert "Kerkplein" not in response.text
    result = results(response)[("woningcorporatie-demo", "huisvesting")]
    assert result["status"] == "ok", result
    (record,) = result["records"]
    assert record["id"] == "w-1"
    assert record["fields"] == {
        "woonsituatie": "huurwoning",
        "sinds": "2020-01-01",
        "adres": "Dorpsstraat 1",
    }
    (entry,) = [
        e
        for e in audit_entries(stack, case_id)
        if e["kind"] == "disclosure" and e["source"] == "woningcorporatie-demo"
    ]
    assert entry["trimmed_fields"] == 1
    assert stack.sources.source("woningcorporatie-demo").last_traceparent is None


def test_an_unusable_source_configuration_is_unavailable_not_a_crash(stack: Stack) -> None:
    # Loads (the schema keeps client_id optional), but no connector can be built without it.
    def misconfigure(document: dict[str, Any]) -> None:
        party_block(document, "woningcorporatie-demo")["source"] = {
            "type": "gateway",
            "base_url": "http://127.0.0.1:9",
            "categories": ["huisvesting"],
        }

    change_covenant(stack, misconfigure)
    gemeente, case_id = open_case(stack)
    found = results(gemeente.query(case_id, ["huisvesting"]))
    result = found[("woningcorporatie-demo", "huisvesting")]
    assert (result["status"], result["reason"]) == ("unavailable", "no_connector"), result
    assert found[("gemeente-demo", "huisvesting")]["status"] == "ok"


def test_a_sql_query_that_is_not_one_plain_select_is_refused_at_reload(stack: Stack) -> None:
    """The connector's one-SELECT rule runs at policy load: the bad covenant is refused
    with its line and the one in force stays, so the source still answers."""
    path = stack.settings.policy_dir / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    party_block(document, "woningcorporatie-demo")["source"] = {
        "type": "sql",
        "url": "sqlite:///nowhere.db",
        "queries": {"huisvesting": "SELECT id FROM woning WHERE bsn = :bsn FOR UPDATE"},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    [problem] = [p for p in stack.runtime.policy.reload() if p.severity == "error"]
    assert "query for 'huisvesting': only reading SELECTs are allowed" in problem.message
    lines = path.read_text(encoding="utf-8").splitlines()
    assert problem.line is not None and "huisvesting: SELECT" in lines[problem.line - 1]
    gemeente, case_id = open_case(stack)
    found = results(gemeente.query(case_id, ["huisvesting"]))
    assert found[("woningcorporatie-demo", "huisvesting")]["status"] == "ok"
