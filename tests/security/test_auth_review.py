"""An attacker's review of the auth-session and cases-flood work (theme ``reviewauth``).

Each test names the promise it guards; each was seen failing on d79f097 (the
main commit the review started from) and passing with its fix.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.audit.anomalies import denial_bursts
from gateway.audit.models import AuditEntry
from gateway.auth.jwks_fetch import JwksFetcher
from gateway.auth.server import GatewayAuthorizationServer
from gateway.auth.web_sessions import WebSession
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.runtime import Runtime
from tests.auth.conftest import gateway_settings, token_request
from tests.auth.partners import (
    ASSERTION_TYPE,
    ISSUER,
    SCOPE,
    Partner,
    make_partners,
    write_policy_dir,
)
from tests.brokering.support import BSN, CASUSOVERLEG, logged_in
from tests.support.loopback import serve_app


@dataclass
class DownKeyServer:
    """A partner's ``jwks_uri`` that is down (503); counts how often the gateway asks it."""

    hits: int = 0
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        async def jwks(_request: Request) -> JSONResponse:
            self.hits += 1
            return JSONResponse({"detail": "down"}, status_code=503)

        self.app = Starlette(routes=[Route("/jwks.json", jwks)])


@pytest.fixture
def down_key_server() -> Iterator[tuple[DownKeyServer, str]]:
    server = DownKeyServer()
    with serve_app(server.app) as base_url:
        yield server, base_url + "/jwks.json"


def test_junk_under_a_jwks_uri_party_does_not_make_the_gateway_fetch_per_request(
    migrated_url: str, tmp_path: Path, down_key_server: tuple[DownKeyServer, str]
) -> None:
    """Promise 1 (partner authentication, availability): junk is not an amplifier.

    A stranger sends assertions under the id of a party whose keys live at a
    ``jwks_uri`` that happens to be down. Before the fix every junk request (also
    the throttled ones, whose signature check asks the key set) sent a fresh
    fetch to the partner's server and held a worker thread for up to the fetch
    timeout. Now a failed fetch is remembered: at most one goes out per
    ``min_refetch_s``.
    """
    server, uri = down_key_server
    partners = make_partners()
    real = Partner(
        "woning-t",
        ECKey.generate_key("P-256", parameters={"kid": "uri-1"}),
        "ES256",
        ("woningcorporatie",),
    )
    policy_dir = write_policy_dir(tmp_path, partners, jwks_uri_party=(real, uri))
    runtime = Runtime.build(gateway_settings(migrated_url, tmp_path, policy_dir))
    runtime.keys.ensure()
    stranger = ECKey.generate_key("P-256", parameters={"kid": "uri-1"})
    try:
        with TestClient(create_app(runtime.settings, runtime)) as client:
            statuses = set()
            for n in range(30):
                junk = Partner(real.id, stranger, "ES256", real.roles).assertion(
                    header={"kid": f"made-up-{n}-{secrets.token_hex(4)}"} if n % 2 else None
                )
                statuses.add(token_request(client, junk).status_code)
            assert statuses <= {401, 400, 429}, statuses
        assert server.hits <= 2, f"{server.hits} fetches for 30 junk requests"
    finally:
        runtime.close()


@pytest.mark.parametrize("damage", ["wrong_passphrase", "corrupt"])
def test_an_unopenable_session_secret_stops_the_start_naming_the_file(
    migrated_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """Promise 9 (web sessions, fail closed): a session secret that cannot be opened stops
    ``ketenpoort serve`` with exit 2 and a message naming the file.

    Before, the start went through and every web login silently failed (the
    session was never stored) while each request with a cookie re-ran the scrypt
    derivation; nobody learnt why until someone read the log.
    """
    from gateway.audit.keyfiles import load_or_create_secret
    from gateway.cli.serve import prepare
    from gateway.settings import Settings

    key_dir = tmp_path / "keys"
    secret_file = key_dir / "web" / "session.key"
    if damage == "wrong_passphrase":
        load_or_create_secret(secret_file, passphrase="een-ander-wachtwoord", dev_mode=False)
    else:
        secret_file.parent.mkdir(parents=True)
        secret_file.write_text('{"format": "damaged"}')
    settings = Settings(
        database_url=migrated_url,
        key_dir=key_dir,
        policy_dir=write_policy_dir(tmp_path, make_partners()),
        base_url="https://gateway.test",
        dev_mode=False,
        key_passphrase="het-goede-wachtwoord",  # type: ignore[arg-type]
    )
    with pytest.raises(typer.Exit) as stopped:
        prepare(settings)
    assert stopped.value.exit_code == 2
    said = capsys.readouterr().err.replace("\n", "")  # rich wraps long lines
    assert str(secret_file) in said


def _audit_bodies(stack: Stack, after: int) -> list[dict[str, Any]]:
    with stack.runtime.db.session() as session:
        bodies = session.scalars(
            select(AuditEntry.body).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
        ).all()
    return [json.loads(body) for body in bodies]


def _audit_head(stack: Stack) -> int:
    with stack.runtime.db.session() as session:
        return int(session.scalar(select(func.max(AuditEntry.seq))) or 0)


def test_a_partner_hammering_refused_case_calls_cannot_flood_the_log(stack: Stack) -> None:
    """Promise 5 (everything logged, the log not floodable): refused case calls are
    aggregated per (party, action, reason, minute), like refusals at the door.

    A partner with a valid token probes 40 made-up case ids, under four employee
    names (the header is its own free text). Before, every 404 was its own entry
    (40 hash-chained writes, as fast as the partner could send). Now the first is
    written at once with its case id, the rest of the minute are counted into one
    entry (written when the minute ends or at shutdown) that keeps the count and
    the first case ids asked for; nothing is lost and nothing multiplies.
    """
    clients = [stack.client("gemeente-demo", f"medewerker-{n}") for n in range(4)]
    for client in clients:
        client.login(DEMO_COVENANT, CASUSOVERLEG)
    start = _audit_head(stack)
    probed = ["c-" + secrets.token_hex(10) for _ in range(40)]
    for n, case_id in enumerate(probed):
        response = clients[n % 4].call("GET", f"/v1/cases/{case_id}")
        assert response.status_code == 404, response.text
    written = [e for e in _audit_bodies(stack, start) if e["party"] == "gemeente-demo"]
    assert all(e["reason"] == "not_found" for e in written)
    # One at once (two more if a minute boundary fell inside the loop).
    assert len(written) <= 3, f"{len(written)} entries for 40 refused calls"
    assert written[0]["case"] == probed[0] and written[0]["details"]["action"] == "get"

    stack.runtime.flush_refusals()
    everything = [e for e in _audit_bodies(stack, start) if e["party"] == "gemeente-demo"]
    assert sum(int(e["details"]["count"]) for e in everything) == 40
    listed = {e["case"] for e in everything if e["case"]} | {
        case
        for e in everything
        if e["details"].get("cases")
        for case in e["details"]["cases"].split(",")
    }
    assert listed <= set(probed) and probed[0] in listed and len(listed) >= 10
    with stack.runtime.db.session() as session:
        bursts = {s.party: s.count for s in denial_bursts(session, threshold=20)}
    assert bursts.get("gemeente-demo", 0) >= 40, "the burst signal sees the real size"


@dataclass
class KeySetServer:
    """A partner's ``jwks_uri``: serves whatever ``document`` holds."""

    document: dict[str, Any]
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        async def jwks(_request: Request) -> JSONResponse:
            return JSONResponse(self.document)

        self.app = Starlette(routes=[Route("/jwks.json", jwks)])


def _form(assertion: str) -> dict[str, list[str]]:
    return {
        "grant_type": ["client_credentials"],
        "client_assertion_type": [ASSERTION_TYPE],
        "client_assertion": [assertion],
        "scope": [SCOPE],
    }


def test_a_partner_that_rotated_its_key_is_not_locked_out_by_a_flood(
    migrated_url: str, tmp_path: Path
) -> None:
    """Promise 1 (partner authentication): a correctly signed assertion is never refused
    because of someone else's failures, also right after the partner rotated its key.

    Strangers flood the token endpoint from the partner's (NAT) address until it is
    throttled; meanwhile the partner publishes a new key at its ``jwks_uri`` and signs
    with it. Before, the over-budget check asked only the cached key set (no ``kid``),
    so the partner got 429 until the cache expired (five minutes). Now the ``kid`` is
    passed on and the bounded refetch finds the new key.
    """
    old_key = ECKey.generate_key("P-256", parameters={"kid": "uri-1"})
    new_key = ECKey.generate_key("P-256", parameters={"kid": "uri-2"})
    partner = Partner("woning-t", old_key, "ES256", ("woningcorporatie",))
    server = KeySetServer(partner.public_jwks())
    with serve_app(server.app) as base_url:
        policy_dir = write_policy_dir(
            tmp_path, make_partners(), jwks_uri_party=(partner, base_url + "/jwks.json")
        )
        runtime = Runtime.build(gateway_settings(migrated_url, tmp_path, policy_dir))
        runtime.keys.ensure()
        fetcher = JwksFetcher(min_refetch_s=0.2)
        try:
            auth = GatewayAuthorizationServer(
                issuer=ISSUER,
                keys=runtime.keys,
                policy=lambda: runtime.policy.current,
                db=runtime.db,
                fetcher=fetcher,
            )
            nat = "192.0.2.7"
            assert auth.token_response(_form(partner.assertion()), {}, nat).status == 200
            stranger_key = ECKey.generate_key("P-256", parameters={"kid": "uri-1"})
            stranger = Partner(partner.id, stranger_key, "ES256", partner.roles)
            for _ in range(6):
                junk = stranger.assertion()
                assert auth.token_response(_form(junk), {}, nat).status in (401, 400, 429)
            assert auth.throttle.retry_after(nat) is not None, "the address is throttled"

            server.document = {"keys": [new_key.as_dict(private=False)]}
            rotated = Partner(partner.id, new_key, "ES256", partner.roles)
            time.sleep(0.3)
            answer = auth.token_response(_form(rotated.assertion()), {}, nat)
            assert answer.status == 200, answer.body
        finally:
            fetcher.close()
            runtime.close()


def _session_rows(stack: Stack) -> list[WebSession]:
    with stack.runtime.db.session() as session:
        rows = list(session.scalars(select(WebSession)).all())
        session.expunge_all()
    return rows


def test_anonymous_login_starts_cannot_pile_up_session_rows(stack: Stack) -> None:
    """Promise 9 (web sessions) and availability: anyone, without a key or a cookie, can
    start a login, and each start writes a server-side session row.

    Before, such a row lived the full absolute lifetime (8 hours) and expired rows
    were purged only when a request carried a cookie, so a cookie-less flood of
    ``/auth/login`` piled up rows for hours. Now a session nobody logged in to lives
    15 minutes at most and creating a session purges expired rows.
    """
    with stack.runtime.db.session() as session:
        session.add(
            WebSession(lookup="0" * 64, data=b"x", created_at=1, last_seen_at=1, expires_at=2)
        )
    with httpx.Client(base_url=stack.base_url) as browser:
        for _ in range(5):
            browser.cookies.clear()
            started = browser.get("/auth/login", follow_redirects=False)
            assert started.status_code in (302, 303, 307), started.text
    rows = _session_rows(stack)
    assert "0" * 64 not in {row.lookup for row in rows}, "the expired row was purged"
    assert len(rows) == 5
    assert all(row.expires_at - row.created_at <= 15 * 60 for row in rows)


def test_a_source_pushing_made_up_deletions_cannot_flood_the_log(stack: Stack) -> None:
    """Promise 5 (everything logged, the log not floodable): a source with a valid token
    pushes a full batch (1,000) of deletions for records nobody holds a copy of.

    Before, each event was its own audit entry: 1,000 hash-chained entries per
    request, as often as the source liked. Now events that removed no copy are
    one entry per batch with their number; an event that removed copies keeps
    its own entry (checked by the existing retention tests).
    """
    source = logged_in(stack, "reclassering-demo")
    events = [
        {
            "record_id": f"verzonnen-{n}",
            "subject": {"bsn": BSN},
            "category": "reclasseringstoezicht" if n % 2 else "huisvesting",
            "deleted_at": "2027-01-01T00:00:00Z",
        }
        for n in range(1_000)
    ]
    start = _audit_head(stack)
    pushed = source.call("POST", "/v1/sources/reclassering-demo/deletions", {"events": events})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {"accepted": 1_000, "copies_deleted": 0}
    written = [e for e in _audit_bodies(stack, start) if e["kind"] == "deletion"]
    assert len(written) == 1, f"{len(written)} entries for one batch"
    assert written[0]["records"] == 0 and written[0]["details"]["events"] == 1_000
    assert BSN not in json.dumps(written[0])
