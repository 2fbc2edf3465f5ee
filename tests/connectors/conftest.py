"""Real pieces for connector tests: a gateway JWKS on loopback, a signer, demo sources."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey

from connectors import SourceHttp
from gateway.demo.source_app import DemoSource, create_source_app, source_of
from gateway.demodata.people import demo_people, demo_records
from gateway.subjects.bsn import Bsn
from tests.support.loopback import serve_app


@dataclass
class GatewaySigner:
    """Stands in for the gateway's key service: signs short-lived tokens for sources."""

    issuer: str
    key: ECKey
    audiences: list[str] = field(default_factory=list)
    lifetime_s: int = 60

    async def __call__(self, audience: str) -> str:
        self.audiences.append(audience)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key)


@pytest.fixture(scope="module")
def gateway_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "gw-1"})


@pytest.fixture(scope="module")
def gateway_jwks(gateway_key: ECKey) -> Iterator[str]:
    """A gateway that publishes its public key at /oauth/jwks; yields its base URL."""
    app = FastAPI()

    @app.get("/oauth/jwks")
    def jwks() -> dict[str, object]:
        return {"keys": [gateway_key.as_dict(private=False)]}

    with serve_app(app) as base_url:
        yield base_url


@pytest.fixture
def signer(gateway_jwks: str, gateway_key: ECKey) -> GatewaySigner:
    return GatewaySigner(issuer=gateway_jwks, key=gateway_key)


@dataclass
class RunningSource:
    base_url: str
    state: DemoSource


@pytest.fixture
def woningcorporatie(gateway_jwks: str) -> Iterator[RunningSource]:
    """The demo woningcorporatie (which adds `interne_notitie`), checking tokens."""
    party = "woningcorporatie-demo"
    audience = f"urn:test:{party}"
    app = create_source_app(
        party,
        demo_records()[party],
        jwks_url=gateway_jwks + "/oauth/jwks",
        expected_audience=audience,
    )
    with serve_app(app) as base_url:
        yield RunningSource(base_url, source_of(app))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
async def sources() -> AsyncIterator[SourceHttp]:
    async with SourceHttp() as http:
        yield http


@pytest.fixture
def person_a() -> Bsn:
    """Known to every demo source."""
    return demo_people()[0].bsn
