"""Every error is RFC 9457 problem+json with a stable type, and echoes no input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from gateway.app import create_app
from gateway.problems import PROBLEM_BASE, Conflict
from gateway.settings import Settings

SECRET_BSN = "999990019"


class Body(BaseModel):
    name: str = Field(max_length=10)
    count: int


probe = APIRouter()


@probe.post("/probe")
def post_probe(body: Body) -> dict[str, str]:
    return {"name": body.name}


@probe.get("/probe/conflict")
def conflict() -> None:
    raise Conflict(detail="already closed")


@probe.get("/probe/crash")
def crash() -> None:
    raise RuntimeError(f"leaky message {SECRET_BSN}")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_problem(response: object, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert isinstance(body["title"], str)
    return body


@pytest.mark.parametrize("backend", ["sqlite"])
def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/probe", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed-json")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_validation_does_not_echo_input(client: TestClient) -> None:
    response = client.post(
        "/probe", json={"name": SECRET_BSN + "x" * 20, "count": SECRET_BSN + "a"}
    )
    body = assert_problem(response, 422, "validation")
    assert SECRET_BSN not in response.text
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "name"), ("body", "count")}  # type: ignore[union-attr, index]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_not_found_and_method_not_allowed(client: TestClient) -> None:
    assert_problem(client.get("/nope"), 404, "not-found")
    response = client.delete("/health/live")
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_domain_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/probe/conflict"), 409, "conflict")
    assert body["detail"] == "already closed"
    assert body["instance"] == "/probe/conflict"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_unexpected_error_is_opaque(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    response = client.get("/probe/crash")
    body = assert_problem(response, 500, "internal")
    assert SECRET_BSN not in response.text
    assert "Traceback" not in response.text
    assert "detail" not in body
    assert SECRET_BSN not in caplog.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_oversized_body_declared(client: TestClient) -> None:
    response = client.post(
        "/probe", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_oversized_body_streamed(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    response = client.post("/probe", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload-too-large")
