"""Tokens the gateway sends to partner sources: short, audience-bound, checkable via JWKS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.errors import InvalidClaimError
from joserfc.jwk import KeySet

from gateway.auth import SourceTokenIssuer
from gateway.runtime import Runtime
from tests.auth.partners import ISSUER


async def test_source_token_is_short_lived_and_bound_to_the_source(
    client: TestClient, runtime: Runtime
) -> None:
    provider = runtime.auth.source_tokens
    token = await provider("https://politie.test/source")
    keys = KeySet.import_key_set(client.get("/oauth/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["ES256"])
    claims = decoded.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "https://politie.test/source"
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert decoded.header["kid"] == runtime.keys.current("token").kid
    assert "purpose" not in claims and "party" not in claims
    other = jwt.JWTClaimsRegistry(aud={"essential": True, "value": "https://ggz.test/source"})
    with pytest.raises(InvalidClaimError):
        other.validate(claims)


def test_source_token_lifetime_is_capped(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="60 seconds"):
        SourceTokenIssuer(runtime.keys, ISSUER, lifetime_s=300)


async def test_source_token_is_reused_for_half_its_life_and_not_after_rotation(
    runtime: Runtime,
) -> None:
    now = [1_000_000.0]
    issuer = SourceTokenIssuer(runtime.keys, ISSUER, clock=lambda: now[0])
    first = await issuer("https://politie.test/source")
    assert await issuer("https://politie.test/source") == first
    assert await issuer("https://ggz.test/source") != first, "one token per audience"
    now[0] += 31
    later = await issuer("https://politie.test/source")
    assert later != first, "past half its minute a fresh token is signed"
    runtime.keys.rotate("token")
    rotated = await issuer("https://politie.test/source")
    assert rotated != later
    decoded = jwt.decode(rotated, runtime.keys.verification_keys("token"), algorithms=["ES256"])
    assert decoded.header["kid"] == runtime.keys.current("token").kid
