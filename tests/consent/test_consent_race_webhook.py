"""Revocation during a slow query, the OM webhook with retries, and the expire CLI."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from joserfc import jwt
from joserfc.jwk import KeySet
from typer.testing import CliRunner

from gateway.cli.main import app as cli_app
from gateway.demo.stack import Stack
from tests.brokering.support import (
    BSN,
    MOTIVATION,
    audit_entries,
    change_covenant,
    open_case,
    party_block,
)
from tests.consent.support import (
    CRIMINAL,
    CRIMINAL_SOURCES,
    ask,
    grant,
    om,
    pending_id,
    set_valid_until,
    today,
)
from tests.support.loopback import serve_app


def test_revocation_during_a_slow_query_returns_no_data(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    ovj = om(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(ovj, consent_id)
    for source in CRIMINAL_SOURCES:
        stack.sources.source(source).delay_s = 1.2
    answer: dict[str, httpx.Response] = {}
    query = threading.Thread(
        target=lambda: answer.setdefault(
            "r", gemeente.query(case_id, [CRIMINAL], motivation=MOTIVATION)
        )
    )
    query.start()
    time.sleep(0.4)
    revoked = ovj.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": "nieuwe feiten"})
    assert revoked.status_code == 200, revoked.text
    query.join(timeout=10)
    response = answer["r"]
    assert response.status_code == 200, response.text
    for result in response.json()["results"]:
        assert result["status"] == "denied", result
        assert result["reason"] == "consent_revoked"
        assert result["consent_id"] == consent_id
        assert "records" not in result
    entries = audit_entries(stack, case_id)
    assert not [e for e in entries if e["kind"] == "disclosure"]
    late = [e for e in entries if e["reason"] == "consent_revoked"]
    assert {e["source"] for e in late} == set(CRIMINAL_SOURCES)


@dataclass
class Receiver:
    url: str
    calls: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.calls) >= count, self.calls


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The OM's system: a real HTTP server that fails the first delivery with a 500."""
    app = FastAPI()
    found = Receiver(url="")

    @app.post("/consent-requests")
    async def receive(request: Request) -> Response:
        status = 500 if not found.calls else 204
        found.calls.append((dict(request.headers), await request.body(), status))
        return Response(status_code=status)

    with serve_app(app) as base_url:
        found.url = base_url + "/consent-requests"
        yield found


def test_webhook_is_delivered_signed_with_retries_and_without_bsn(
    stack: Stack, receiver: Receiver
) -> None:
    def add_hook(document: dict[str, Any]) -> None:
        party_block(document, "om-demo")["consent_webhook"] = {
            "url": receiver.url,
            "timeout_s": 2,
            "backoff_s": 0.2,
        }

    change_covenant(stack, add_hook)
    stack.sources.source("politie-demo").delay_s = 0.0
    gemeente, case_id = open_case(stack)
    started = time.monotonic()
    consent_id = pending_id(ask(gemeente, case_id))
    assert time.monotonic() - started < 2.0, "the query does not wait for the webhook"
    receiver.wait_for(2)
    assert [status for _h, _b, status in receiver.calls[:2]] == [500, 204]
    time.sleep(0.5)
    assert len(receiver.calls) == 2, "no delivery after success"

    headers, body, _ = receiver.calls[1]
    payload = json.loads(body)
    assert payload["consent_id"] == consent_id
    assert payload["case"] == case_id
    assert payload["categories"] == [CRIMINAL]
    assert payload["recipient"] == "gemeente-demo"
    assert payload["purpose"] == "pga-casusoverleg"
    assert payload["case_phase"] == "casusoverleg"
    assert payload["created_at"]
    assert BSN not in body.decode()
    assert headers["idempotency-key"] == consent_id

    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    jwks = httpx.get(stack.base_url + "/oauth/jwks").json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks))
    assert decoded.claims["aud"] == receiver.url
    assert decoded.claims["iss"] == stack.base_url
    assert decoded.claims["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert decoded.claims["consent_id"] == consent_id

    pending_id(ask(gemeente, case_id))
    time.sleep(0.5)
    assert len(receiver.calls) == 2, "a reused request is not announced again"


def test_cli_consent_expire(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(om(stack), consent_id, valid_until=today().isoformat())
    settings = stack.settings
    env = {
        "KETENPOORT_DATABASE_URL": settings.database_url,
        "KETENPOORT_KEY_DIR": str(settings.key_dir),
        "KETENPOORT_POLICY_DIR": str(settings.policy_dir),
        "KETENPOORT_BASE_URL": settings.base_url,
        "KETENPOORT_DEV_MODE": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    nothing = runner.invoke(cli_app, ["consent", "expire"])
    assert nothing.exit_code == 0, nothing.output
    assert "0 consent(s) expired" in nothing.output
    later = (today() + timedelta(days=1)).isoformat()
    done = runner.invoke(cli_app, ["consent", "expire", "--today", later])
    assert done.exit_code == 0, done.output
    assert consent_id in done.output
    bad = runner.invoke(cli_app, ["consent", "expire", "--today", "morgen"])
    assert bad.exit_code == 2
    outcomes = [e["outcome"] for e in audit_entries(stack, case_id) if e["kind"] == "consent"]
    assert outcomes == ["requested", "granted", "expired"]
    set_valid_until(stack, consent_id, today())
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json()["status"] == "expired"
