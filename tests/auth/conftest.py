"""A real gateway over a migrated database, a test policy directory and generated keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import Principal, current_principal, require_role
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.auth.partners import (
    ASSERTION_TYPE,
    ISSUER,
    SCOPE,
    Partner,
    make_partners,
    write_policy_dir,
)

EMPLOYEE = {"X-Ketenpoort-Employee": "agent-4711"}


class Ticks:
    """A monotonic clock for a KeyStore that moves only when told (its manifest recheck bound)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


OM_ONLY = require_role("om")


@pytest.fixture(scope="session")
def partners() -> dict[str, Partner]:
    return make_partners()


def gateway_settings(database_url: str, root: Path, policy_dir: Path) -> Settings:
    key_dir = root / "keys"
    key_dir.mkdir(exist_ok=True)
    return Settings(
        database_url=database_url,
        key_dir=key_dir,
        policy_dir=policy_dir,
        base_url=ISSUER,
        dev_mode=True,
    )


@pytest.fixture
def auth_settings(migrated_url: str, tmp_path: Path, partners: dict[str, Partner]) -> Settings:
    return gateway_settings(migrated_url, tmp_path, write_policy_dir(tmp_path, partners))


@pytest.fixture
def runtime(auth_settings: Settings) -> Iterator[Runtime]:
    built = Runtime.build(auth_settings)
    built.keys.ensure()
    yield built
    built.close()


def add_probe_routes(app: FastAPI) -> FastAPI:
    """Two routes guarded the way every partner route is, to test the resource side."""

    @app.get("/probe/whoami")
    async def whoami(principal: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
        return asdict(principal)

    @app.get("/probe/om-only")
    async def om_only(principal: Annotated[Principal, Depends(OM_ONLY)]) -> dict[str, Any]:
        return asdict(principal)

    return app


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return add_probe_routes(create_app(runtime.settings, runtime))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def token_request(
    client: TestClient | httpx.Client, assertion: str, scope: str | None = SCOPE, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    if scope is not None:
        form["scope"] = scope
    return client.post("/oauth/token", data=form)


@pytest.fixture
def get_token(client: TestClient) -> Callable[..., str]:
    def get(partner: Partner, scope: str = SCOPE) -> str:
        response = token_request(client, partner.assertion(), scope)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    return get
