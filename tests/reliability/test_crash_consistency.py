"""Promise 5 under kill -9: no response was delivered whose audit entry is missing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gateway.audit.search import EntryQuery, search_entries
from gateway.cli.main import app as cli
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.reliability.support import ServedGateway

pytestmark = pytest.mark.slow
CATEGORIES = ["huisvesting", "sociale_relaties"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedGateway]:
    gateway = ServedGateway(tmp_path)
    gateway.prepare()
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.close()


def _entries(settings: Settings, case_id: str) -> list[dict[str, object]]:
    db = Database(settings.sqlalchemy_url, timeout_s=5)
    vault = build_audit_log(settings, db).vault
    entries: list[dict[str, object]] = []
    cursor: str | None = None
    try:
        with db.session() as session:
            while True:
                page = search_entries(
                    session, vault, EntryQuery(case=case_id, cursor=cursor, limit=500)
                )
                entries += page.entries
                if page.next is None:
                    return entries
                cursor = page.next
    finally:
        db.dispose()


def test_kill9_under_load_loses_no_delivered_entry(served: ServedGateway) -> None:
    case_id = served.open_case()
    stop = threading.Event()
    delivered: list[dict[str, int | str]] = []
    lock = threading.Lock()

    def worker() -> None:
        client = served.client("gemeente-demo")
        try:
            while not stop.is_set():
                try:
                    response = client.query(case_id, CATEGORIES)
                except httpx.HTTPError:
                    return  # the gateway died mid-request: nothing was delivered
                if response.status_code == 200:
                    body = response.json()
                    ok = sum(1 for r in body["results"] if r["status"] == "ok")
                    with lock:
                        delivered.append({"trace_id": body["trace_id"], "ok": ok})
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    served.kill9()
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(delivered) > 10, "the load never got going"

    served.start()
    runner = CliRunner()
    verified = runner.invoke(cli, ["audit", "verify"], env=served.env)
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.output
    after = served.client("gemeente-demo")
    assert after.query(case_id, CATEGORIES).status_code == 200
    after.close()
    served.stop()

    entries = _entries(_settings(served), case_id)
    disclosures: dict[str, int] = {}
    for entry in entries:
        if entry["kind"] == "disclosure":
            trace = str(entry["trace_id"])
            disclosures[trace] = disclosures.get(trace, 0) + 1
    missing = [d for d in delivered if disclosures.get(str(d["trace_id"]), 0) < int(d["ok"])]
    assert not missing, f"{len(missing)} delivered responses have no durable disclosure entry"


def _settings(served: ServedGateway) -> Settings:
    return Settings(
        database_url=served.env["KETENPOORT_DATABASE_URL"],
        policy_dir=Path(served.env["KETENPOORT_POLICY_DIR"]),
        key_dir=Path(served.env["KETENPOORT_KEY_DIR"]),
        base_url=served.base_url,
        dev_mode=True,
    )
