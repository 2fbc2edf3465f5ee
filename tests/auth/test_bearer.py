"""The resource side: only our own, current, purpose-bound access tokens open the API."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.runtime import Runtime
from tests.auth.conftest import EMPLOYEE
from tests.auth.partners import ISSUER, Partner


def _call(client: TestClient, token: str, path: str = "/probe/whoami", **headers: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {token}", **EMPLOYEE, **headers})


def _unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": "politie-t",
        "client_id": "politie-t",
        "party": "politie-t",
        "roles": ["politie"],
        "covenant": "kv-test",
        "purpose": "triage",
        "iat": now,
        "exp": now + 300,
        "jti": "j-1",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(runtime: Runtime, claims: dict[str, Any], typ: str = "at+jwt") -> str:
    """A token signed with the gateway's real current key, as only the gateway could."""
    key = runtime.keys.current("token")
    header = {"alg": key.alg, "kid": key.kid, "typ": typ}
    return jwt.encode(header, claims, key.jwk, algorithms=[key.alg])


def test_valid_token_yields_the_principal(
    client: TestClient, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    response = _call(client, get_token(partners["ggz-t"]))
    assert response.status_code == 200, response.text
    principal = response.json()
    assert principal["party"] == "ggz-t"
    assert principal["roles"] == ["ggz", "zorg"]
    assert (principal["covenant"], principal["purpose"]) == ("kv-test", "triage")
    assert principal["employee"] == "agent-4711"


def test_employee_header_is_required(
    client: TestClient, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    token = get_token(partners["politie-t"])
    response = client.get("/probe/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Ketenpoort-Employee" in response.json()["detail"]
    bad = _call(client, token, **{"X-Ketenpoort-Employee": "a b\tc"})
    assert bad.status_code == 400


def test_require_role(
    client: TestClient, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    assert _call(client, get_token(partners["om-t"]), "/probe/om-only").status_code == 200
    refused = _call(client, get_token(partners["politie-t"]), "/probe/om-only")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("header", [None, "Basic cG9saXRpZTp4", "Bearer ", "Bearer"])
def test_missing_or_other_scheme(client: TestClient, header: str | None) -> None:
    headers = dict(EMPLOYEE)
    if header is not None:
        headers["Authorization"] = header
    _unauthorized(client.get("/probe/whoami", headers=headers))


def test_tampered_token(
    client: TestClient, partners: dict[str, Partner], get_token: Callable[..., str]
) -> None:
    header, payload, signature = get_token(partners["politie-t"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["purpose"] = "overleg"
    claims["roles"] = ["om"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _unauthorized(_call(client, f"{header}.{forged}.{signature}"))


def test_token_signed_by_another_key(client: TestClient) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "stranger"})
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "stranger"}, _claims(), stranger)
    _unauthorized(_call(client, token))


def test_expired_token(client: TestClient, runtime: Runtime) -> None:
    now = int(time.time())
    _unauthorized(_call(client, _signed(runtime, _claims(iat=now - 1200, exp=now - 300))))


def test_wrong_audience_and_issuer(client: TestClient, runtime: Runtime) -> None:
    _unauthorized(_call(client, _signed(runtime, _claims(aud="https://source.test"))))
    _unauthorized(_call(client, _signed(runtime, _claims(iss="https://evil.test"))))


def test_id_token_typed_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    assert _call(client, _signed(runtime, _claims())).status_code == 200
    _unauthorized(_call(client, _signed(runtime, _claims(), typ="JWT")))


def test_token_without_purpose_binding_is_refused(client: TestClient, runtime: Runtime) -> None:
    _unauthorized(_call(client, _signed(runtime, _claims(purpose=None))))
    _unauthorized(_call(client, _signed(runtime, _claims(roles="om"))))


def test_source_token_does_not_open_the_api(client: TestClient, runtime: Runtime) -> None:
    source_token = runtime.auth.source_tokens.issue(ISSUER)
    _unauthorized(_call(client, source_token))


def test_alg_none_access_token(client: TestClient) -> None:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    _unauthorized(_call(client, f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(_claims())}."))
