"""Fixtures for the FG-scope suite: one gateway serving two covenants.

Covenant A is the repository's demo covenant; covenant B (``zvh-b``) is written
next to a copy of the repository's policies, with its own procesregie party
and its own privacy officer ``fg-b``. Everything else is the real demo stack.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
from sqlalchemy import update

from gateway.app import create_app
from gateway.cli.serve import prepare
from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import ensure_partner_keys
from gateway.demo.runner import start_demo_sources
from gateway.demo.serving import bind_socket, url_of
from gateway.demo.stack import DEMO_COVENANT, Stack, copy_policies, start_stack
from gateway.httpserver import server_config
from gateway.policy.loader import load_policy_dir
from gateway.rights.models import RightsRequest
from gateway.settings import Settings

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
COVENANT_B = "zvh-b"
PURPOSE = "pga-casusoverleg"

COVENANT_B_YAML = """\
id: zvh-b
title: Tweede convenant op dezelfde gateway (test)
valid_from: 2026-01-01
valid_until: 2030-12-31
controller: gemeente-b
parties:
  - id: gemeente-b
    name: Gemeente B
    roles: [gemeente, procesregie]
    jwks_file: ../keys/trust/gemeente-b.json
  - id: fg-b
    name: FG van convenant B
    roles: [privacy_officer]
    jwks_file: ../keys/trust/fg-b.json
case_opening_roles: [procesregie]
categories:
  - id: huisvesting
    sensitivity: gewoon
    fields: [woonsituatie]
purposes:
  - id: pga-casusoverleg
    description: Casusoverleg in convenant B
    legal_basis: "AVG art. 6 lid 1 sub e"
rules:
  - id: wonen
    purpose: pga-casusoverleg
    phases: [casusoverleg]
    recipients: [procesregie]
    sources: [gemeente]
    categories: [huisvesting]
retention:
  case_after_close: P2Y
  after_last_contact: P5Y
  copies: P30D
  consent_max: P1Y
rights:
  inzage: P1M
  correctie: P14D
  verzet: P28D
  extension: P2M
"""


def two_covenant_policies(target: Path) -> Path:
    """A copy of the repository's policies plus covenant B; returns the directory."""
    shutil.copytree(REPO_POLICIES, target)
    (target / "zvh-b.yaml").write_text(COVENANT_B_YAML, encoding="utf-8")
    return target


@pytest.fixture
def two_covenants(migrated_url: str, tmp_path: Path) -> Iterator[Stack]:
    with start_stack(
        prepare=prepare,
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=two_covenant_policies(tmp_path / "source-policies"),
        workdir=tmp_path / "run",
        delays={},
    ) as running:
        yield running


def partner(stack: Stack, party: str, covenant: str = DEMO_COVENANT) -> PartnerClient:
    client = stack.client(party)
    client.login(covenant, PURPOSE)
    return client


def file_overdue_request(stack: Stack, filer: PartnerClient, bsn: str, case: str) -> str:
    """A partner files a correctie for ``bsn`` in its ``case`` (a partner files only for
    cases it participates in); its deadline is then moved into the past."""
    response = filer.call(
        "POST",
        "/v1/rights-requests",
        {
            "type": "correctie",
            "subject": {"bsn": bsn},
            "details": "adres klopt niet",
            "cases": [case],
        },
    )
    assert response.status_code == 201, response.text
    request_id = str(response.json()["id"])
    with stack.runtime.db.session() as session:
        session.execute(
            update(RightsRequest)
            .where(RightsRequest.id == request_id)
            .values(deadline=datetime.now(UTC) - timedelta(days=1))
        )
    return request_id


def all_entries(officer: PartnerClient, **filters: str) -> list[dict[str, object]]:
    """Every entry the officer's API search returns (all pages)."""
    entries: list[dict[str, object]] = []
    params = dict(filters, limit="500")
    while True:
        response = officer.http.get("/v1/audit/entries", params=params, headers=officer.headers())
        assert response.status_code == 200, response.text
        page = response.json()
        entries += page["entries"]
        if page["next"] is None:
            return entries
        params["cursor"] = page["next"]


def web_get(client: httpx.Client, path: str, **params: str) -> httpx.Response:
    return client.get(path, params=params or None)


class LoggedServer:
    """The gateway app under uvicorn configured as ``ketenpoort serve`` runs it.

    Log level ``info`` with uvicorn's own logging config, so the access log is
    on (``BackgroundServer`` switches it off); started in a thread on a socket
    bound before the app was built (its URL is the OAuth audience).
    """

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self._socket = sock
        config = server_config(app, log_level="info", proxy_headers=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="ketenpoort serve", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()


def _rest_source_ports(policy_dir: Path) -> dict[str, int]:
    policy = load_policy_dir(policy_dir, require_keys=False)
    return {
        party.id: 0
        for covenant in policy.covenants
        for party in covenant.parties
        if party.source is not None and party.source.type == "rest"
    }


@contextmanager
def served_like_production(database_url: str, workdir: Path) -> Iterator[Stack]:
    """The demo stack (real sources, partner keys) behind a :class:`LoggedServer`."""
    sock = bind_socket("127.0.0.1", 0)
    base_url = url_of(sock)
    sources = start_demo_sources(_rest_source_ports(REPO_POLICIES), base_url + "/oauth/jwks")
    server: LoggedServer | None = None
    runtime = None
    try:
        policy_dir = workdir / "policies"
        copy_policies(REPO_POLICIES, policy_dir, sources.base_urls)
        keys: dict[str, Any] = {}
        for covenant in load_policy_dir(policy_dir, require_keys=False).covenants:
            keys.update(ensure_partner_keys(covenant, workdir / "keys"))
        settings = Settings(
            database_url=database_url,
            policy_dir=policy_dir,
            key_dir=workdir / "keys",
            base_url=base_url,
            dev_mode=True,
        )
        runtime = prepare(settings)
        app = create_app(settings, runtime)
        server = LoggedServer(app, sock)
        server.start()
        stack = Stack(base_url, settings, runtime, app, cast(Any, server), sources, keys)
        yield stack
        for client in stack.clients:
            client.close()
    finally:
        if server is not None:
            server.stop()
        else:
            sock.close()
        sources.stop()
        if runtime is not None:
            runtime.close()
