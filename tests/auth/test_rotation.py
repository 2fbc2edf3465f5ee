"""Key rotation: new tokens use the new key, old tokens keep working until they expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from joserfc import jws

from gateway.auth.bearer import AccessTokenVerifier, InvalidToken
from gateway.keys import MANIFEST_RECHECK_S, TOKEN_KEY_GRACE, KeyStore
from gateway.runtime import Runtime
from tests.auth.conftest import EMPLOYEE, Ticks
from tests.auth.partners import ISSUER, Partner


def _kid(token: str) -> str:
    header = jws.extract_compact(token.encode()).protected
    return str(header["kid"])


def _whoami(client: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", **EMPLOYEE}
    status: int = client.get("/probe/whoami", headers=headers).status_code
    return status


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    client: TestClient,
    runtime: Runtime,
    partners: dict[str, Partner],
    get_token: Callable[..., str],
) -> None:
    old_token = get_token(partners["politie-t"])
    old_kid = _kid(old_token)
    new = runtime.keys.rotate("token")
    assert new.kid != old_kid
    published = {key["kid"] for key in client.get("/oauth/jwks").json()["keys"]}
    assert published == {old_kid, new.kid}
    new_token = get_token(partners["politie-t"])
    assert _kid(new_token) == new.kid
    assert _whoami(client, old_token) == 200
    assert _whoami(client, new_token) == 200


def test_rotation_by_another_process_is_seen_without_restart(
    client: TestClient,
    runtime: Runtime,
    partners: dict[str, Partner],
    get_token: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = Ticks()  # the running gateway's clock for its manifest recheck
    monkeypatch.setattr(runtime.keys, "_monotonic", ticks)
    before = _kid(get_token(partners["politie-t"]))
    other_process = KeyStore(runtime.settings.key_dir, None, dev_mode=True)
    rotated = other_process.rotate("token")
    # Within the bound the gateway has not looked at the manifest again (no stat per request) ...
    assert _kid(get_token(partners["politie-t"])) == before
    ticks.advance(MANIFEST_RECHECK_S)
    # ... and once it has passed, the other process's rotation is in force.
    after = _kid(get_token(partners["politie-t"]))
    assert before != after == rotated.kid


def test_token_of_a_retired_key_fails_once_expired_and_the_key_unpublished(
    runtime: Runtime, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    old_token = get_token(partners["politie-t"])
    old_kid = _kid(old_token)
    runtime.keys.rotate("token")
    later = datetime.now(UTC) + TOKEN_KEY_GRACE + timedelta(seconds=1)
    keys_later = KeyStore(runtime.settings.key_dir, None, dev_mode=True, clock=lambda: later)
    assert old_kid not in {key["kid"] for key in keys_later.jwks("token")["keys"]}
    verifier = AccessTokenVerifier(keys_later, ISSUER, clock=later.timestamp)
    try:
        verifier.verify(old_token)
    except InvalidToken:
        pass
    else:
        raise AssertionError("an expired token of a retired key was accepted")
    # The same token still passes today's verifier: the refusal above is the rotation's.
    assert AccessTokenVerifier(runtime.keys, ISSUER).verify(old_token)["party"] == "politie-t"


def test_audit_keys_stay_published_after_rotation(runtime: Runtime) -> None:
    first = runtime.keys.current("audit").kid
    runtime.keys.rotate("audit")
    far_later = datetime.now(UTC) + timedelta(days=3650)
    keys_later = KeyStore(runtime.settings.key_dir, None, dev_mode=True, clock=lambda: far_later)
    kids = [key["kid"] for key in keys_later.jwks("audit")["keys"]]
    assert first in kids and len(kids) == 2
    assert keys_later.current("audit").kid != first
