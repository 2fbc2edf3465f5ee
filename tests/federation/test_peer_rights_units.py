"""Idempotency and the one-hop rule of peer rights requests, without starting processes.

Region B's covenant from ``regions.py`` (peers ``zvh-a``, ``zvh-x`` and the
gateway source ``zvh-d``) on a real migrated database, through the real
services; the connector checks run on a real ``GatewayConnector``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey

from connectors import ForwardedRightsRequest, GatewayConnector, GatewayPeer, PeerDenied
from gateway.audit.events import AuditEvent
from gateway.cases.service import Actor
from gateway.rights.forwarding import Forwarder
from gateway.rights.models import RightsRequest
from gateway.rights.peer_outcomes import is_final
from gateway.rights.peers import local_records, own_sources
from gateway.rights.service import Application, Filer
from gateway.settings import Settings
from gateway.subjects.bsn import Bsn
from gateway.wiring import Runtime
from tests.federation.regions import PURPOSE, covenant_b, write_policy_dir

BSN = "999990081"
DOWN = "http://127.0.0.1:9"  # discard port: nothing answers


@pytest.fixture
def region_b(migrated_url: str, tmp_path: Path) -> Iterator[Runtime]:
    keys = {p: ECKey.generate_key("P-256") for p in ("gemeente-b", "politie-demo", "zvh-x")}
    keys.update({p: keys["gemeente-b"] for p in ("woningcorporatie-demo", "om-b", "fg-b")})
    sources = {"politie-demo": DOWN, "woningcorporatie-demo": DOWN}
    policies = write_policy_dir(tmp_path / "policies", covenant_b(keys, DOWN, sources, DOWN))
    (tmp_path / "keys").mkdir()
    settings = Settings(
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=policies,
        base_url="http://testserver",
        dev_mode=True,
    )
    runtime = Runtime.build(settings)
    runtime.keys.ensure()
    try:
        yield runtime
    finally:
        runtime.close()


def _application(kind: str = "correctie", records: tuple[str, ...] = ()) -> Application:
    return Application(
        type=kind,  # type: ignore[arg-type]
        bsn=Bsn(BSN),
        details="Onjuist.",
        records=records,
        deadline=date.today() + timedelta(days=5),
    )


def test_a_retry_of_the_same_peer_request_finds_the_request_filed_before(
    region_b: Runtime,
) -> None:
    peer = Actor("zvh-x", "zvh-x:t.tester", "zvh-b", PURPOSE)
    mirror = region_b.federation.desk.mirror(
        peer, Bsn(BSN), "casusoverleg", peer_case=None, peer_requester=None
    )
    service = region_b.rights_desk.service
    # We disclosed to the peer in its mirror case (only then may it file, peers.peer_cases).
    region_b.audit.append_sync(
        [
            AuditEvent(
                kind="disclosure",
                outcome="ok",
                party="zvh-x",
                convenant="zvh-b",
                purpose=PURPOSE,
                case=mirror.case.id,
                category="huisvesting",
                subject_pseudonym=service.pseudonym(Bsn(BSN)),
            )
        ]
    )
    filer = Filer(party="zvh-x", employee="t", covenant="zvh-b", peer_request="rr-x-1")
    with region_b.db.session() as session:
        first = service.file_for_peer(session, filer, _application(records=("politie-demo/p-1",)))
    with region_b.db.session() as session:
        again = service.file_for_peer(session, filer, _application(records=("politie-demo/p-1",)))
    assert not first.repeated and again.repeated
    assert again.view.id == first.view.id and again.forward_to == ()
    # One hop: a mirror case goes to B's own sources, never to the gateway source zvh-d.
    assert first.forward_to == (("zvh-b", "politie-demo"),)
    assert (first.view.source_party, first.view.records) == ("politie-demo", ("p-1",))
    assert first.view.channel == "peer" and first.view.peer_request == "rr-x-1"
    with region_b.db.session() as session:
        rows = session.query(RightsRequest).filter_by(filed_by_party="zvh-x").all()
    assert len(rows) == 1

    other = Filer(party="zvh-x", employee="t", covenant="zvh-b", peer_request="rr-x-2")
    with region_b.db.session() as session:
        verzet = service.file_for_peer(session, other, _application("verzet"))
    assert {party for _, party in verzet.forward_to} == {"politie-demo", "woningcorporatie-demo"}


def test_own_sources_never_name_a_peer_gateway(region_b: Runtime) -> None:
    covenant = region_b.policy.current.covenant("zvh-b")
    assert covenant is not None
    assert own_sources(covenant) == ("politie-demo", "woningcorporatie-demo")
    assert own_sources(covenant, ["zvh-d", "zvh-a", "politie-demo"]) == ("politie-demo",)
    assert local_records(covenant, ["politie-demo/a", "politie-demo/b"]) == (
        "politie-demo",
        ("a", "b"),
    )
    assert local_records(covenant, ["politie-demo/a", "zvh-d/b", "c"]) == (
        None,
        ("a", "zvh-d/b", "c"),
    )


def _request(origin: str, kind: str = "verzet") -> ForwardedRightsRequest:
    return ForwardedRightsRequest(
        id="rr-00000000000000000001",
        type=kind,  # type: ignore[arg-type]
        subject=Bsn(BSN),
        records=(),
        details="x",
        deadline=datetime.now(UTC).date(),
        convenant="zvh-b",
        purpose=PURPOSE,
        origin=origin,  # type: ignore[arg-type]
    )


def test_a_gateway_connector_never_passes_on_a_peers_request_nor_an_inzage() -> None:
    async def attempt(request: ForwardedRightsRequest) -> str:
        async with httpx.AsyncClient() as client:
            connector = GatewayConnector(
                GatewayPeer(DOWN, client_id="zvh-b"),
                client,
                _NoTokens(),
                1.0,
                client_id="zvh-b",
            )
            try:
                await connector.file_peer_rights_request(request)
            except PeerDenied as denied:
                return denied.reason
        return "sent"

    assert asyncio.run(attempt(_request("peer"))) == "peer_one_hop"
    assert asyncio.run(attempt(_request("local", "inzage"))) == "peer_inzage_not_forwarded"


def test_the_forwarder_marks_a_peer_request_to_a_peer_as_one_hop(region_b: Runtime) -> None:
    registry = region_b.brokering.registry
    forwarder = Forwarder(registry, lambda: region_b.policy.current, 1.0)

    async def forward() -> list[tuple[str, str | None]]:
        done = await forwarder.forward("zvh-b", ["zvh-d"], _request("peer"))
        return [(item.status, item.reason) for item in done]

    assert asyncio.run(forward()) == [("unsupported", "one_hop")]


def test_only_final_outcomes_stop_the_pull() -> None:
    assert not is_final({"outcome": "pending"}, "correctie")
    assert not is_final({"outcome": "granted"}, "correctie")
    assert is_final({"outcome": "granted", "executed_at": "2026-12-01T00:00:00+00:00"}, "correctie")
    assert is_final({"outcome": "granted"}, "verzet")
    assert is_final({"outcome": "refused"}, "correctie")


class _NoTokens:
    """A peer token source that must never be reached (the connector refuses first)."""

    async def access_token(self, scope: object, *, timeout_s: float) -> str:
        raise AssertionError("no token may be asked for")

    def forget(self, scope: object) -> None:
        raise AssertionError("no token may be dropped")
