"""``/openapi.json`` describes every answer, how to authenticate, and the employee header."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings

METHODS = {"get", "post", "put", "patch", "delete"}
PROBLEM = "#/components/schemas/Problem"
# Routes any caller may use (the rest need a partner token and the employee header).
PUBLIC = {
    "/health/live",
    "/health/ready",
    "/.well-known/oauth-authorization-server",
    "/oauth/jwks",
    "/oauth/token",
    "/v1/audit/jwks",
    "/v1/audit/checkpoint",
    "/v1/audit/proofs/inclusion",
    "/v1/audit/proofs/consistency",
}


@pytest.fixture
def document(settings: Settings) -> dict[str, Any]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [(s, r) for s, r in operation["responses"].items() if s.startswith("2")]
    assert len(found) == 1, operation["responses"].keys()
    return found[0]


def test_every_success_answer_has_an_object_schema(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) > 20
    for path, method, operation in operations:
        status, response = _success(operation)
        schema = response["content"]["application/json"]["schema"]
        resolved = _resolve(document, schema)
        where = f"{method.upper()} {path} {status}"
        assert resolved.get("type") == "object", where
        assert resolved.get("properties"), f"{where}: no fields declared"


def test_every_error_answer_is_problem_json(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        where = f"{method.upper()} {path}"
        if path == "/oauth/token":  # RFC 6749 §5.2: OAuth JSON, not problem+json
            assert {"400", "401", "503"} <= errors.keys(), where
            for response in errors.values():
                schema = response["content"]["application/json"]["schema"]
                assert "error" in _resolve(document, schema)["properties"], where
            continue
        for status, response in errors.items():
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": PROBLEM}, f"{where} {status}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_wire_names_of_the_contract(document: dict[str, Any]) -> None:
    """Spot checks of API.md field names, as the models declare them."""

    def fields(path: str, method: str) -> set[str]:
        _status, response = _success(document["paths"][path][method])
        schema = _resolve(document, response["content"]["application/json"]["schema"])
        return set(schema["properties"])

    assert {"id", "convenant", "purpose", "phase", "status", "participants", "closed_at"} <= (
        fields("/v1/cases", "post")
    )
    assert {"query_id", "case", "purpose", "results", "trace_id"} <= fields(
        "/v1/cases/{case_id}/queries", "post"
    )
    assert {"from", "to", "proof", "from_checkpoint", "to_checkpoint"} <= fields(
        "/v1/audit/proofs/consistency", "get"
    )
    assert {"access_token", "token_type", "expires_in"} <= fields("/oauth/token", "post")
    assert {"id", "status", "version", "granted_categories"} <= fields(
        "/v1/consents/{consent_id}", "get"
    )


def test_bearer_token_and_employee_header_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["partnerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["partnerToken"]["description"],
    }
    flow = schemes["clientCredentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    secured = 0
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        headers = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}
        if path in PUBLIC:
            assert "security" not in operation, where
            assert "X-Ketenpoort-Employee" not in headers, where
            continue
        secured += 1
        assert {"partnerToken": []} in operation["security"], where
        assert "X-Ketenpoort-Employee" in headers, where
        assert {"401", "403"} <= operation["responses"].keys(), where
    assert secured >= 15
