"""Attacks on rights requests across regions and on ``rights.contested: withhold``.

Region B's covenant from ``regions.py`` on a real migrated database, served
over loopback HTTP (real tokens, real keys); a hostile peer is a real HTTP
server. Each test failed on the code before its fix (branch ``review``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors import ForwardedRightsRequest, GatewayConnector, GatewayPeer, PeerDown
from gateway.app import create_app
from gateway.audit.events import AuditEvent
from gateway.brokering.contesting import CONTESTED, ContestedMarker
from gateway.brokering.minimise import DisclosedRecord
from gateway.brokering.results import SourceResult
from gateway.demo.partner_client import PartnerClient
from gateway.rights.contested import pending_correcties
from gateway.rights.models import RightsRequest
from gateway.settings import Settings
from gateway.subjects.bsn import Bsn
from gateway.wiring import Runtime
from tests.federation.regions import PURPOSE, covenant_b, free_port, write_policy_dir
from tests.support.loopback import serve_app

BSN = "999990081"
DOWN = "http://127.0.0.1:9"  # discard port: nothing answers
PARTIES = ("gemeente-b", "politie-demo", "woningcorporatie-demo", "om-b", "fg-b", "zvh-x")


@dataclass
class RegionB:
    url: str
    keys: dict[str, ECKey]
    runtime: Runtime
    policies: Path

    def client(self, party: str) -> PartnerClient:
        client = PartnerClient(self.url, party, self.keys[party], employee="t.tester")
        client.login("zvh-b", PURPOSE)
        return client

    def change(self, party_id: str, roles: list[str]) -> None:
        """Edit B's covenant and reload it, as the file watcher would."""
        path = self.policies / "zvh-b.yaml"
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        next(p for p in document["parties"] if p["id"] == party_id)["roles"] = roles
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        problems = self.runtime.policy.reload()
        assert not [p for p in problems if p.severity == "error"], problems


@pytest.fixture
def region_b(migrated_url: str, tmp_path: Path) -> Iterator[RegionB]:
    keys = {p: ECKey.generate_key("P-256", parameters={"kid": f"{p}-1"}) for p in PARTIES}
    sources = {"politie-demo": DOWN, "woningcorporatie-demo": DOWN}
    policies = write_policy_dir(tmp_path / "policies", covenant_b(keys, DOWN, sources, DOWN))
    (tmp_path / "keys").mkdir()
    port = free_port()
    settings = Settings(
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=policies,
        base_url=f"http://127.0.0.1:{port}",
        dev_mode=True,
    )
    runtime = Runtime.build(settings)
    runtime.keys.ensure()
    try:
        with serve_app(create_app(settings, runtime), port=port) as url:
            yield RegionB(url, keys, runtime, policies)
    finally:
        runtime.close()


def _peer_filing(peer_request: str) -> dict[str, Any]:
    return {
        "type": "correctie",
        "subject": {"bsn": BSN},
        "peer_request": peer_request,
        "details": "Onjuist.",
        "records": [],
        "deadline": (datetime.now(UTC).date() + timedelta(days=10)).isoformat(),
    }


def _disclosed_to(region: RegionB, party: str, case_id: str) -> None:
    """What a real disclosure leaves behind here: the log's ``disclosure`` entry naming the
    peer as recipient in that case (the sources of this fixture are down, so no query can)."""
    pseudonym = region.runtime.rights_desk.service.pseudonym(Bsn(BSN))
    region.runtime.audit.append_sync(
        [
            AuditEvent(
                kind="disclosure",
                outcome="ok",
                reason="permitted",
                party=party,
                convenant="zvh-b",
                purpose=PURPOSE,
                case=case_id,
                source="woningcorporatie-demo",
                category="huisvesting",
                records=1,
                subject_pseudonym=pseudonym,
            )
        ]
    )


def _mirror(peer: PartnerClient) -> str:
    mirror = peer.call(
        "POST", "/v1/federation/cases", {"subject": {"bsn": BSN}, "phase": "casusoverleg"}
    )
    assert mirror.status_code in (200, 201), mirror.text
    return str(mirror.json()["id"])


# --- who may file: a peer that received data about the person -------------------------------


def test_a_peer_files_only_about_a_person_it_received_data_about(region_b: RegionB) -> None:
    """A peer can open a mirror case for any BSN; that alone must not let its correctie
    (which marks, or under ``withhold`` keeps back, the person's records at every source
    here) or its verzet in. Only once we disclosed something to that peer in the case is
    its request about data it got from us (AVG art. 19)."""
    peer = region_b.client("zvh-x")
    case_id = _mirror(peer)
    refused = peer.call("POST", "/v1/federation/rights-requests", _peer_filing("rr-x-0"))
    assert refused.status_code == 422, refused.text
    with region_b.runtime.db.session() as session:
        assert session.query(RightsRequest).count() == 0

    _disclosed_to(region_b, "zvh-x", case_id)
    filed = peer.call("POST", "/v1/federation/rights-requests", _peer_filing("rr-x-0"))
    assert filed.status_code == 201, filed.text


# --- ids the peer minted: what older peers mint is taken, a BSN is not ----------------------

# Random hex as a gateway before 2026-12-02 drew it (about one id in eight held a run like
# this): not personal data, and the peer sends the same id on every retry.
OLD_PEER_REQUEST = "rr-6a0a8baae934195992dc"
OLD_PEER_CASE = "c-4829301756pq8k2m9x7d"


def test_a_peer_id_with_a_long_digit_run_is_taken(region_b: RegionB) -> None:
    """The peer's own case and rights request ids are held to their shape and to holds_bsn
    only: refused for eight digits in a row, a person's request never reached us."""
    peer = region_b.client("zvh-x")
    mirror = peer.call(
        "POST",
        "/v1/federation/cases",
        {"subject": {"bsn": BSN}, "phase": "casusoverleg", "peer_case": OLD_PEER_CASE},
    )
    assert mirror.status_code in (200, 201), mirror.text
    known = peer.call(
        "POST", "/v1/federation/known", {"subject": {"bsn": BSN}, "peer_case": OLD_PEER_CASE}
    )
    assert known.status_code == 200, known.text
    _disclosed_to(region_b, "zvh-x", mirror.json()["id"])
    filed = peer.call("POST", "/v1/federation/rights-requests", _peer_filing(OLD_PEER_REQUEST))
    assert filed.status_code == 201, filed.text
    again = peer.call("POST", "/v1/federation/rights-requests", _peer_filing(OLD_PEER_REQUEST))
    assert again.status_code == 200, again.text
    outcome = peer.call("GET", f"/v1/federation/rights-requests/{filed.json()['id']}")
    assert outcome.json()["peer_request"] == OLD_PEER_REQUEST


@pytest.mark.parametrize("written", ["rr-999990081", "rr-999-990-081"])
def test_a_peer_id_holding_a_bsn_is_still_refused(region_b: RegionB, written: str) -> None:
    peer = region_b.client("zvh-x")
    _disclosed_to(region_b, "zvh-x", _mirror(peer))
    refused = peer.call("POST", "/v1/federation/rights-requests", _peer_filing(written))
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("unprocessable")
    assert written not in refused.text
    with region_b.runtime.db.session() as session:
        assert session.query(RightsRequest).count() == 0


# --- rights.contested: withhold -------------------------------------------------------------


def test_withhold_also_keeps_back_a_record_a_peer_region_marked_contested(
    region_b: RegionB,
) -> None:
    """A record that arrives marked ``contested`` (a correctie pending at the peer region,
    or a copy that kept that mark) is contested here too: under ``withhold`` it must not
    leave, even when no correctie of our own contests it."""
    marker = ContestedMarker(region_b.runtime.db, pending_correcties)
    at_peer = DisclosedRecord("p-1", "2026-01-01", {"woonsituatie": "x"}, contested=True)
    plain = DisclosedRecord("p-2", "2026-01-01", {"woonsituatie": "y"})
    results = [
        SourceResult("zvh-d", "huisvesting", "ok", "permitted", records=[at_peer, plain]),
        SourceResult("zvh-d", "justitiele_gegevens", "ok", "permitted", records=[at_peer]),
    ]
    pseudonym = region_b.runtime.rights_desk.service.pseudonym(Bsn(BSN))
    with region_b.runtime.db.session() as session:
        kept = marker.mark_in(session, pseudonym, results, withholding=True)
    assert [r.id for r in kept[0].records or []] == ["p-2"]
    assert kept[0].contested_withheld == 1
    assert (kept[1].status, kept[1].reason, kept[1].records) == ("denied", CONTESTED, None)
    # Marking (the default) leaves them as they came, mark and all.
    with region_b.runtime.db.session() as session:
        marked = marker.mark_in(session, pseudonym, results)
    assert marked == results


# --- the outcome read: a peer gateway of an active covenant only ----------------------------


def test_a_party_no_longer_a_peer_gateway_cannot_read_the_outcome(region_b: RegionB) -> None:
    """``check_peer`` guards the filing; reading the outcome must be refused (and logged)
    once the covenant no longer lists the party as a peer gateway, as every federation call is."""
    peer = region_b.client("zvh-x")
    _disclosed_to(region_b, "zvh-x", _mirror(peer))
    filed = peer.call("POST", "/v1/federation/rights-requests", _peer_filing("rr-x-1"))
    assert filed.status_code == 201, filed.text
    path = f"/v1/federation/rights-requests/{filed.json()['id']}"
    assert peer.call("GET", path).status_code == 200

    region_b.change("zvh-x", ["gemeente"])
    refused = peer.call("GET", path)
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "not_federation_party"


# --- a hostile peer's answers at the requesting region ---------------------------------------


class _StaticTokens:
    """The peer's token endpoint is not under test here: any bearer is accepted."""

    async def access_token(self, scope: object, *, timeout_s: float) -> str:
        return "token"

    def forget(self, scope: object) -> None:
        return None


def _hostile_peer(receipt_id: str, status: str, outcome_id: str | None = None) -> Starlette:
    async def file(request: Request) -> JSONResponse:
        body = {"id": receipt_id, "type": "correctie", "status": "pending"}
        return JSONResponse(body, status_code=201)

    async def outcome(request: Request) -> JSONResponse:
        return JSONResponse({"id": outcome_id or request.path_params["rid"], "status": status})

    return Starlette(
        routes=[
            Route("/v1/federation/rights-requests", file, methods=["POST"]),
            Route("/v1/federation/rights-requests/{rid}", outcome),
        ]
    )


def _forwarded() -> ForwardedRightsRequest:
    return ForwardedRightsRequest(
        id="rr-00000000000000000001",
        type="correctie",
        subject=Bsn(BSN),
        records=(),
        details="x",
        deadline=datetime.now(UTC).date(),
        convenant="zvh-b",
        purpose=PURPOSE,
    )


def _attempt(app: Starlette, call: str) -> str:
    async def run(base_url: str) -> str:
        async with httpx.AsyncClient() as client:
            connector = GatewayConnector(
                GatewayPeer(base_url, client_id="zvh-a"),
                client,
                _StaticTokens(),
                5.0,
                client_id="zvh-a",
            )
            try:
                if call == "file":
                    receipt = await connector.file_peer_rights_request(_forwarded())
                    return f"filed {receipt.id}"
                outcome = await connector.peer_rights_outcome("rr-b-1", "zvh-b", PURPOSE)
                return f"outcome {outcome.status}"
            except PeerDown as down:
                return down.reason

    with serve_app(app) as base_url:
        return asyncio.run(run(base_url))


def test_a_peer_receipt_id_holding_a_bsn_is_not_taken() -> None:
    """The peer's request id is kept on our forwarding and logged in clear
    (``details.peer_request``): one holding a BSN is malformed, as our own peer ids are."""
    assert _attempt(_hostile_peer("rr-999990081", "pending"), "file") == "peer_malformed"
    assert _attempt(_hostile_peer("rr-b-1", "pending"), "file") == "filed rr-b-1"


def test_a_peer_outcome_is_one_of_the_known_statuses_for_the_request_asked() -> None:
    """The status is stored, logged as ``reason`` and shown to the person: free text from
    a peer is refused, as is an answer about another request than the one asked."""
    assert _attempt(_hostile_peer("rr-b-1", "granted"), "outcome") == "outcome granted"
    bogus = _hostile_peer("rr-b-1", "<b>toegewezen, bel 0612345678</b>")
    assert _attempt(bogus, "outcome") == "peer_malformed"
    assert _attempt(_hostile_peer("rr-b-1", "granted", "rr-b-2"), "outcome") == "peer_malformed"


def test_a_peer_gateway_files_only_through_the_federation_route(region_b: RegionB) -> None:
    """A peer gateway may open a mirror case for anyone it asks about. Through the
    partner route it could then file an *inzage* naming that case: the BSN goes to every
    joint controller, and the filer reads back per source how many records each holds —
    a count the covenant's rules never granted it. A peer files correctie/verzet at
    ``/v1/federation/rights-requests`` only (no inzage: one contact point per region)."""
    peer = region_b.client("zvh-x")
    mirror = peer.call(
        "POST", "/v1/federation/cases", {"subject": {"bsn": BSN}, "phase": "casusoverleg"}
    )
    assert mirror.status_code in (200, 201), mirror.text
    for kind in ("inzage", "correctie", "verzet"):
        body = {
            "type": kind,
            "subject": {"bsn": BSN},
            "details": "Wat weet B?",
            "cases": [mirror.json()["id"]],
        }
        filed = peer.call("POST", "/v1/rights-requests", body)
        assert filed.status_code == 422, filed.text
        assert filed.json()["type"].endswith("rights-request-refused")
    with region_b.runtime.db.session() as session:
        assert session.query(RightsRequest).count() == 0
