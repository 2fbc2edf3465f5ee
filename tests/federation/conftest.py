"""Starts region A and region B as two real gateway processes for the whole module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import create_engine, text

from gateway.demo.partner_client import PartnerClient
from gateway.demo.runner import DemoSources, start_demo_sources
from tests.federation.regions import (
    GatewayProcess,
    covenant_a,
    covenant_b,
    free_port,
    gateway_env,
    write_policy_dir,
)

PARTIES = [
    "gemeente-a",
    "ggz-a",
    "fg-a",
    "gemeente-b",
    "politie-demo",
    "woningcorporatie-demo",
    "om-b",
    "fg-b",
    "zvh-x",
]


@dataclass
class Regions:
    a: GatewayProcess
    b: GatewayProcess
    c_url: str
    keys: dict[str, ECKey]
    sources: DemoSources

    def partner_a(self, party: str) -> PartnerClient:
        return self.a.client(party, self.keys[party])

    def partner_b(self, party: str) -> PartnerClient:
        return self.b.client(party, self.keys[party])

    @property
    def root(self) -> Path:
        return self.a.log_path.parent


def _databases(
    backend: str, root: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    if backend == "sqlite":
        yield f"sqlite:///{root / 'a.db'}", f"sqlite:///{root / 'b.db'}"
        return
    server: str = request.getfixturevalue("postgres_database")
    schemas = [f"fed_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for schema in schemas:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield tuple(f"{server}?options=-csearch_path%3D{s}" for s in schemas)  # type: ignore[misc]
    with engine.connect() as connection:
        for schema in schemas:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="module")
def regions(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Regions]:
    root = tmp_path_factory.mktemp(f"federation-{backend}")
    keys = {p: ECKey.generate_key("P-256", parameters={"kid": f"{p}-1"}) for p in PARTIES}
    a_port, b_port, c_port = free_port(), free_port(), free_port()
    a_url, b_url = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
    c_url = f"http://127.0.0.1:{c_port}"  # nothing listens here: region C is down
    databases = _databases(backend, root, request)
    db_a, db_b = next(databases)
    sources = start_demo_sources(
        {"politie-demo": 0, "woningcorporatie-demo": 0}, b_url + "/oauth/jwks", delays={}
    )
    write_policy_dir(root / "a" / "policies", covenant_a(keys, b_url, c_url))
    write_policy_dir(
        root / "b" / "policies", covenant_b(keys, a_url, dict(sources.base_urls), c_url)
    )
    a = GatewayProcess(
        "region A",
        a_url,
        a_port,
        # Peer outcomes are pulled every 2 s here (default 900 s).
        gateway_env("a", db_a, root / "a", a_port, "zvh-a", KETENPOORT_PEER_RIGHTS_INTERVAL_S="2"),
        root / "a.log",
    )
    b = GatewayProcess(
        "region B",
        b_url,
        b_port,
        gateway_env("b", db_b, root / "b", b_port, "zvh-b"),
        root / "b.log",
    )
    try:
        b.start()
        a.start()
        yield Regions(a, b, c_url, keys, sources)
    finally:
        a.stop()
        b.stop()
        sources.stop()
        next(databases, None)
