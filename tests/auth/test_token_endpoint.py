"""The happy path of /oauth/token, its metadata and key set (API.md §1)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.auth.conftest import token_request
from tests.auth.partners import ISSUER, SCOPE, TOKEN_URL, Partner


@pytest.mark.parametrize("party", ["politie-t", "ggz-t", "om-t"])
def test_each_allowed_algorithm_gets_a_purpose_bound_access_token(
    client: TestClient, partners: dict[str, Partner], party: str
) -> None:
    partner = partners[party]
    response = token_request(client, partner.assertion())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["scope"] == SCOPE
    jwks = client.get("/oauth/jwks").json()
    token = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt"
    assert token.header["kid"] in {key["kid"] for key in jwks["keys"]}
    claims = token.claims
    assert claims["iss"] == ISSUER and claims["aud"] == ISSUER
    assert claims["sub"] == claims["client_id"] == claims["party"] == party
    assert claims["roles"] == list(partner.roles)
    assert (claims["covenant"], claims["purpose"]) == ("kv-test", "triage")
    assert claims["exp"] - claims["iat"] <= 900
    assert claims["jti"]


def test_audience_may_be_the_issuer(client: TestClient, partners: dict[str, Partner]) -> None:
    response = token_request(client, partners["politie-t"].assertion(aud=ISSUER))
    assert response.status_code == 200, response.text


def test_audience_may_be_a_list_naming_the_token_endpoint(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    assertion = partners["politie-t"].assertion(aud=["https://elsewhere.test", TOKEN_URL])
    assert token_request(client, assertion).status_code == 200


def test_metadata_follows_rfc8414(client: TestClient) -> None:
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == TOKEN_URL
    assert metadata["jwks_uri"] == ISSUER + "/oauth/jwks"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {
        "ES256",
        "EdDSA",
        "Ed25519",
        "PS256",
    }


def test_jwks_holds_public_keys_only(client: TestClient) -> None:
    keys = client.get("/oauth/jwks").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "EC" and keys[0]["alg"] == "ES256" and keys[0]["use"] == "sig"
    assert "d" not in keys[0]


def test_audit_jwks_is_a_separate_ed25519_key(client: TestClient) -> None:
    token_keys = client.get("/oauth/jwks").json()["keys"]
    audit_keys = client.get("/v1/audit/jwks").json()["keys"]
    assert [key["crv"] for key in audit_keys] == ["Ed25519"]
    assert {key["kid"] for key in audit_keys}.isdisjoint({key["kid"] for key in token_keys})
    assert all("d" not in key for key in audit_keys)


def test_errors_are_rfc6749_json(client: TestClient) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert response.status_code in (400, 401)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "invalid_client"
    assert "error_description" in response.json()


def test_other_grant_types_are_unsupported(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    response = token_request(client, partners["politie-t"].assertion(), grant_type="password")
    assert response.json()["error"] == "unsupported_grant_type"


def test_client_secret_is_not_a_way_in(client: TestClient) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        auth=("politie-t", "guess"),
    )
    assert response.json()["error"] == "invalid_client"


def test_body_must_be_a_form(client: TestClient, partners: dict[str, Partner]) -> None:
    response = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_assertion": "x"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_repeated_parameters_are_refused(client: TestClient, partners: dict[str, Partner]) -> None:
    assertion = partners["politie-t"].assertion()
    response = client.post(
        "/oauth/token",
        content=(
            "grant_type=client_credentials&scope=convenant%3Akv-test+purpose%3Atriage"
            "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
            f"%3Ajwt-bearer&client_assertion={assertion}&scope=purpose%3Aoverleg"
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_assertions_and_tokens_never_reach_the_logs(
    client: TestClient, partners: dict[str, Partner], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assertion = partners["politie-t"].assertion()
    token = token_request(client, assertion).json()["access_token"]
    token_request(client, assertion)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "politie-t" in logged
    for secret in (assertion, token, assertion.split(".")[2], token.split(".")[2]):
        assert secret not in logged


def test_the_deprecated_eddsa_name_is_still_accepted_and_joserfc_says_so(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    """Partners should sign with "Ed25519" (RFC 9864); a legacy "EdDSA" assertion still works.

    The gateway itself never signs with the deprecated name, and the warning
    joserfc raises for it is not silenced: it shows in the logs of a gateway
    whose partner still uses it.
    """
    from joserfc.errors import SecurityWarning

    legacy = replace(partners["ggz-t"], alg="EdDSA")
    with pytest.warns(SecurityWarning, match="EdDSA is deprecated"):
        response = token_request(client, legacy.assertion())
    assert response.status_code == 200, response.text
