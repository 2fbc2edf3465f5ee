"""Shared helpers of the authsession security modules: junk assertions, token posts, audit reads."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from gateway.audit.models import AuditEntry
from gateway.cli.serve import prepare
from gateway.demo.partner_client import ASSERTION_TYPE
from gateway.demo.stack import DEMO_COVENANT, Stack, start_stack

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
PURPOSE = "pga-casusoverleg"
SCOPE = f"convenant:{DEMO_COVENANT} purpose:{PURPOSE}"
PROXY = "127.0.0.1"


@pytest.fixture
def proxied_stack(migrated_url: str, tmp_path: Path) -> Iterator[Stack]:
    """The demo stack behind a reverse proxy on loopback: 127.0.0.1 is a trusted proxy."""
    with start_stack(
        prepare=prepare,
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=REPO_POLICIES,
        workdir=tmp_path,
        delays={},
        settings_overrides={"trusted_proxies": PROXY},
    ) as running:
        yield running


def junk_assertion(base_url: str, sub: str, *, jti: str | None = None) -> str:
    """Well-formed, claims right, but signed by a key nobody registered."""
    key = ECKey.generate_key("P-256")
    now = int(time.time())
    claims = {
        "iss": sub,
        "sub": sub,
        "aud": base_url + "/oauth/token",
        "iat": now,
        "exp": now + 120,
        "jti": jti or secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": "ES256"}, claims, key, algorithms=["ES256"])


def post_token(
    http: httpx.Client,
    assertion: str,
    *,
    forwarded_for: str | None = None,
    scope: str = SCOPE,
    **extra: str,
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    return http.post("/oauth/token", data=form, headers=headers)


def auth_entries(stack: Stack) -> list[dict[str, Any]]:
    """The ``auth`` audit entries' search bodies, after writing the counts still held."""
    denials = getattr(stack.runtime.auth, "denials", None)
    if denials is not None:
        denials.flush()
    with stack.runtime.db.session() as session:
        bodies = session.scalars(
            select(AuditEntry.body).where(AuditEntry.kind == "auth").order_by(AuditEntry.seq)
        ).all()
    return [json.loads(body) for body in bodies]


def raw_auth_bodies(stack: Stack) -> str:
    with stack.runtime.db.session() as session:
        return "\n".join(
            session.scalars(select(AuditEntry.body).where(AuditEntry.kind == "auth")).all()
        )
