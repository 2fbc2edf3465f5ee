"""Faults at the sources and in storage: the answer degrades, nothing leaks, never a 5xx body."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import event

from gateway.demo.partner_client import PartnerClient
from gateway.demo.source_app import LEAKY_ERROR_BODY
from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.reliability.conftest import StackFactory
from tests.reliability.rawserver import Mode, raw_server
from tests.reliability.support import BSN, PURPOSE

SOURCE = "gemeente-demo"
CATEGORY = "huisvesting"


def _case(stack: Stack) -> tuple[PartnerClient, str]:
    client = stack.client("gemeente-demo")
    client.login(DEMO_COVENANT, PURPOSE)
    opened = client.open_case(DEMO_COVENANT, PURPOSE, BSN, ["ggz-demo"], "casusoverleg")
    assert opened.status_code == 201, opened.text
    return client, str(opened.json()["id"])


def _point_source_at(stack: Stack, base_url: str, timeout_s: float | None = None) -> None:
    path = stack.settings.policy_dir / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    party = next(p for p in document["parties"] if p["id"] == SOURCE)
    party["source"]["base_url"] = base_url
    if timeout_s is not None:
        party["source"]["timeout_s"] = timeout_s
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    problems = stack.runtime.policy.reload()
    assert not [p for p in problems if p.severity == "error"], problems


def _only_result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert isinstance(result, dict)
    return result


def _discloses_nothing(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("application/problem+json")
    text = response.text
    assert BSN not in text and "woonsituatie" not in text and "Traceback" not in text


def test_slow_source_times_out_without_delaying_the_answer(stack: Stack) -> None:
    client, case_id = _case(stack)
    _point_source_at(stack, stack.sources.base_urls[SOURCE], timeout_s=0.3)
    stack.sources.source(SOURCE).delay_s = 3.0
    start = time.monotonic()
    response = client.query(case_id, [CATEGORY, "sociale_relaties"], [SOURCE, "ggz-demo"])
    assert time.monotonic() - start < 2.0
    by_source = {(r["source"], r["category"]): r for r in response.json()["results"]}
    assert by_source[(SOURCE, CATEGORY)]["status"] == "unavailable"
    assert by_source[(SOURCE, CATEGORY)]["reason"] == "timeout"
    assert by_source[("ggz-demo", "sociale_relaties")]["status"] == "ok"


def test_failing_source_leaks_nothing(stack: Stack) -> None:
    client, case_id = _case(stack)
    stack.sources.source(SOURCE).fail = True
    response = client.query(case_id, [CATEGORY], [SOURCE])
    assert _only_result(response)["status"] == "unavailable"
    assert "demo-db-secret" not in response.text and LEAKY_ERROR_BODY not in response.text


@pytest.mark.parametrize("mode", ["reset", "garbage"])
def test_broken_peer_is_unavailable(stack: Stack, mode: Mode) -> None:
    client, case_id = _case(stack)
    with raw_server(mode) as url:
        _point_source_at(stack, url)
        response = client.query(case_id, [CATEGORY], [SOURCE])
    result = _only_result(response)
    assert result["status"] == "unavailable"
    assert "records" not in result


def test_database_locked_gives_503_and_discloses_nothing(make_stack: StackFactory) -> None:
    stack = make_stack(db_timeout_s=0.5)
    client, case_id = _case(stack)
    assert _only_result(client.query(case_id, [CATEGORY], [SOURCE]))["status"] == "ok"
    database = stack.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, timeout=5)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        response = client.query(case_id, [CATEGORY], [SOURCE])
    finally:
        blocker.rollback()
        blocker.close()
    assert response.status_code == 503, response.text
    _discloses_nothing(response)
    assert _only_result(client.query(case_id, [CATEGORY], [SOURCE]))["status"] == "ok"


def test_disk_full_gives_503_and_discloses_nothing(stack: Stack) -> None:
    client, case_id = _case(stack)
    engine = stack.runtime.db.engine

    def full_disk(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={int(pages)}")
        cursor.close()

    event.listen(engine, "connect", full_disk)
    engine.dispose()  # every new connection sees a full disk
    try:
        responses = [client.query(case_id, [CATEGORY], [SOURCE]) for _ in range(30)]
    finally:
        event.remove(engine, "connect", full_disk)
        engine.dispose()
    refused = [r for r in responses if r.status_code == 503]
    assert refused, "the log never filled the disk"
    assert all(r.status_code in (200, 503) for r in responses)
    for response in refused:
        _discloses_nothing(response)
    assert _only_result(client.query(case_id, [CATEGORY], [SOURCE]))["status"] == "ok"


def test_raw_server_really_misbehaves(tmp_path: Path) -> None:
    with raw_server("garbage") as url:
        answer = httpx.post(url + "/lookup", json={})
        with pytest.raises(ValueError):
            answer.json()
    with raw_server("reset") as url, pytest.raises(httpx.HTTPError):
        httpx.post(url + "/lookup", json={})


def test_any_storage_error_is_503_with_retry_after(stack: Stack) -> None:
    """Promise 5 (fail closed): a database error outside the audit path is a 503, not a 500.

    The cases table disappears under a running gateway (a botched manual
    change, a restore in progress): every route that needs it answers a 503
    problem with Retry-After and discloses nothing, and serves again once the
    table is back.
    """
    client, case_id = _case(stack)
    database = stack.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database, timeout=5) as admin:
        admin.execute("ALTER TABLE cases RENAME TO cases_away")
    try:
        response = client.query(case_id, [CATEGORY], [SOURCE])
    finally:
        with sqlite3.connect(database, timeout=5) as admin:
            admin.execute("ALTER TABLE cases_away RENAME TO cases")
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "urn:ketenpoort:problem:unavailable"
    assert response.headers["retry-after"]
    _discloses_nothing(response)
    assert _only_result(client.query(case_id, [CATEGORY], [SOURCE]))["status"] == "ok"
