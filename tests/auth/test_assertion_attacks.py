"""Every way to forge or misuse a client assertion ends in invalid_client (RFC 7523 §3)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.auth.conftest import token_request
from tests.auth.partners import ISSUER, Partner


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _refused(response_json: dict[str, str], status: int) -> None:
    assert status in (400, 401), response_json
    assert response_json["error"] == "invalid_client", response_json


def _assert_refused(client: TestClient, assertion: str) -> str:
    response = token_request(client, assertion)
    _refused(response.json(), response.status_code)
    assert "access_token" not in response.json()
    return str(response.json().get("error_description", ""))


def test_replayed_assertion_is_refused(client: TestClient, partners: dict[str, Partner]) -> None:
    assertion = partners["politie-t"].assertion()
    assert token_request(client, assertion).status_code == 200
    assert "used before" in _assert_refused(client, assertion)


def test_same_jti_from_another_party_is_its_own(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    assert token_request(client, partners["politie-t"].assertion(jti="shared")).status_code == 200
    assert token_request(client, partners["ggz-t"].assertion(jti="shared")).status_code == 200


def test_expired_assertion(client: TestClient, partners: dict[str, Partner]) -> None:
    now = int(time.time())
    _assert_refused(client, partners["politie-t"].assertion(iat=now - 600, exp=now - 120))


def test_assertion_without_exp(client: TestClient, partners: dict[str, Partner]) -> None:
    _assert_refused(client, partners["politie-t"].assertion(exp=None))


def test_exp_more_than_five_minutes_ahead(client: TestClient, partners: dict[str, Partner]) -> None:
    description = _assert_refused(
        client, partners["politie-t"].assertion(exp=int(time.time()) + 3600)
    )
    assert "5 minutes" in description


def test_iat_in_the_future(client: TestClient, partners: dict[str, Partner]) -> None:
    now = int(time.time())
    _assert_refused(client, partners["politie-t"].assertion(iat=now + 200, exp=now + 250))


def test_missing_jti(client: TestClient, partners: dict[str, Partner]) -> None:
    _assert_refused(client, partners["politie-t"].assertion(jti=None))


@pytest.mark.parametrize(
    "audience", ["https://other.test/oauth/token", ISSUER + "/elsewhere", "politie-t"]
)
def test_wrong_audience(client: TestClient, partners: dict[str, Partner], audience: str) -> None:
    _assert_refused(client, partners["politie-t"].assertion(aud=audience))


def test_issuer_must_equal_subject(client: TestClient, partners: dict[str, Partner]) -> None:
    _assert_refused(client, partners["politie-t"].assertion(iss="ggz-t"))


def test_signed_by_a_key_not_in_the_trust_store(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    politie = partners["politie-t"]
    impostor = Partner(
        politie.id,
        ECKey.generate_key("P-256", parameters={"kid": politie.kid}),
        "ES256",
        politie.roles,
    )
    assert "signature" in _assert_refused(client, impostor.assertion())


def test_another_partys_key_cannot_sign_for_a_party(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    fg = partners["fg-t"]
    _assert_refused(client, fg.assertion(iss="politie-t", sub="politie-t"))


def test_unknown_client(client: TestClient, partners: dict[str, Partner]) -> None:
    stranger = Partner(
        "onbekend-t", ECKey.generate_key("P-256", parameters={"kid": "x"}), "ES256", ()
    )
    assert "unknown client" in _assert_refused(client, stranger.assertion())


def test_alg_none_is_refused(client: TestClient, partners: dict[str, Partner]) -> None:
    now = int(time.time())
    claims = {
        "iss": "politie-t",
        "sub": "politie-t",
        "aud": ISSUER,
        "exp": now + 60,
        "jti": "none-1",
    }
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert "algorithm not allowed" in _assert_refused(client, forged)


def test_hs256_with_the_public_key_as_secret_is_refused(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    """Key confusion: an HMAC signed with the bytes of the party's public JWKS."""
    politie = partners["politie-t"]
    secret = OctKey.import_key(json.dumps(politie.public_jwks()).encode())
    now = int(time.time())
    forged = jwt.encode(
        {"alg": "HS256", "kid": politie.kid},
        {"iss": politie.id, "sub": politie.id, "aud": ISSUER, "exp": now + 60, "jti": "hs-1"},
        secret,
        algorithms=["HS256"],
    )
    assert "algorithm not allowed" in _assert_refused(client, forged)


def test_rs256_is_not_on_the_allow_list(client: TestClient, partners: dict[str, Partner]) -> None:
    om = partners["om-t"]
    _assert_refused(client, om.assertion(header={"alg": "RS256"}))


def test_oversized_assertion(client: TestClient, partners: dict[str, Partner]) -> None:
    padded = partners["politie-t"].assertion(padding="x" * 5000)
    assert "too large" in _assert_refused(client, padded)


def test_tampered_assertion_payload(client: TestClient, partners: dict[str, Partner]) -> None:
    header, _, signature = partners["ggz-t"].assertion().split(".")
    now = int(time.time())
    claims = {"iss": "politie-t", "sub": "politie-t", "aud": ISSUER, "exp": now + 60, "jti": "t"}
    _assert_refused(client, f"{header}.{_b64(claims)}.{signature}")


def test_garbage_assertion(client: TestClient) -> None:
    _assert_refused(client, "not-a-jwt")
