"""Verified access tokens are remembered per process, never beyond what verifying anew allows.

The cache (gateway/auth/bearer.py) answers a token seen before without a
signature check, so each case below proves a refusal still happens: at
``exp`` (plus the leeway a fresh verification grants), and at once when the
key that signed it is withdrawn from the published set, even while the
token itself has not expired.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gateway.auth.bearer import CLOCK_SKEW_S, AccessTokenVerifier, InvalidToken
from gateway.keys import MANIFEST_RECHECK_S, TOKEN_KEY_GRACE, KeyStore
from gateway.keys.manifest import read_manifest, write_manifest
from gateway.runtime import Runtime
from tests.auth.conftest import Ticks
from tests.auth.partners import ISSUER, Partner


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def timestamp(self) -> float:
        return self.now.timestamp()

    def __call__(self) -> datetime:
        return self.now


def test_a_cached_token_is_refused_once_expired(
    runtime: Runtime, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    token = get_token(partners["politie-t"])
    clock = Clock()
    verifier = AccessTokenVerifier(runtime.keys, ISSUER, clock=clock.timestamp)
    first = verifier.verify(token)
    assert verifier.verify(token) == first  # answered again, from memory
    clock.now = datetime.fromtimestamp(first["exp"] + CLOCK_SKEW_S + 1, UTC)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_a_cached_token_is_refused_when_its_key_is_withdrawn(
    runtime: Runtime, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    token = get_token(partners["politie-t"])
    key_clock = Clock()
    keys = KeyStore(runtime.settings.key_dir, None, dev_mode=True, clock=key_clock)
    verifier = AccessTokenVerifier(keys, ISSUER)  # the token itself stays unexpired
    assert verifier.verify(token)["party"] == "politie-t"
    keys.rotate("token")
    assert verifier.verify(token)["party"] == "politie-t"  # the old key is still published
    key_clock.now += TOKEN_KEY_GRACE + timedelta(seconds=1)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_a_key_removed_by_another_process_stops_verifying_within_the_recheck_bound(
    runtime: Runtime, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    """An operator withdrawing a (compromised) key from the manifest: revoked after the bound.

    The store looks at its manifest at most once per MANIFEST_RECHECK_S
    (docs/operations.md), so a cached token of a removed key is refused once
    that bound has passed, with no restart and although the token is unexpired.
    """
    token = get_token(partners["politie-t"])
    ticks = Ticks()
    keys = KeyStore(runtime.settings.key_dir, None, dev_mode=True, monotonic=ticks)
    verifier = AccessTokenVerifier(keys, ISSUER)
    assert verifier.verify(token)["party"] == "politie-t"
    # Another process: a new current key, then the old one taken out of the manifest.
    other = KeyStore(runtime.settings.key_dir, None, dev_mode=True)
    other.rotate("token")
    manifest = other.directory / "manifest.json"
    revoked = {record.kid for record in keys.records("token")}
    write_manifest(manifest, [r for r in read_manifest(manifest) if r.kid not in revoked])
    ticks.advance(MANIFEST_RECHECK_S)
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    # Refused for the key, not the token: the same token on a fresh store fails too.
    with pytest.raises(InvalidToken):
        AccessTokenVerifier(KeyStore(runtime.settings.key_dir, None, dev_mode=True), ISSUER).verify(
            token
        )


def test_callers_cannot_change_the_cached_claims(
    runtime: Runtime, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    token = get_token(partners["politie-t"])
    verifier = AccessTokenVerifier(runtime.keys, ISSUER)
    verifier.verify(token)["party"] = "someone-else"
    assert verifier.verify(token)["party"] == "politie-t"
