"""A correctie or verzet filed at region A reaches peer region B, and B's outcome comes back.

Two real gateway processes (``conftest.py``): A forwards through its
``gateway`` connector to B's ``POST /v1/federation/rights-requests``; B files
its own request, marks or restricts, forwards to its own sources only; A's
background job (every 2 s here) and the ``ketenpoort rights sync-peers``
command pull B's outcome back onto A's forwarding entry.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.demo.partner_client import PartnerClient
from tests.federation.conftest import Regions
from tests.federation.regions import PURPOSE, audit_entries

CORRECTIE_BSN = "999990019"  # persoon-b: known to the demo housing corporation behind B
VERZET_BSN = "999990044"
PEER_X_BSN = "999990007"  # persoon-a: known to the demo police source behind B
DOWN_BSN = "999990068"


def _case_at_a(regions: Regions, bsn: str, participants: list[str]) -> str:
    opened = regions.partner_a("gemeente-a").open_case(
        "zvh-a", PURPOSE, bsn, participants, "casusoverleg"
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def _query_b(regions: Regions, case_id: str) -> dict[str, Any]:
    """A asks B for housing in the case: this opens (or reuses) B's mirror case."""
    response = regions.partner_a("gemeente-a").query(case_id, ["huisvesting"], ["zvh-b"])
    assert response.status_code == 200, response.text
    (result,) = [r for r in response.json()["results"] if r["source"] == "zvh-b"]
    return dict(result)


def _file_at_a(regions: Regions, body: dict[str, Any]) -> dict[str, Any]:
    response = regions.partner_a("gemeente-a").call("POST", "/v1/rights-requests", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _verzet_at_a(
    regions: Regions, bsn: str, peers: list[str], details: str = "Bezwaar."
) -> dict[str, Any]:
    """The person's verzet filed at A, about a case at A that B answered once."""
    case_id = _case_at_a(regions, bsn, peers)
    _query_b(regions, case_id)
    body = {"type": "verzet", "subject": {"bsn": bsn}, "cases": [case_id], "details": details}
    return _file_at_a(regions, body)


def _forwarding(request: dict[str, Any], party: str) -> dict[str, Any]:
    (entry,) = [f for f in request["forwarded"] if f["party"] == party]
    return dict(entry)


def _read(client: PartnerClient, request_id: str) -> dict[str, Any]:
    response = client.call("GET", f"/v1/rights-requests/{request_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _wait_for(check: Callable[[], dict[str, Any] | None], seconds: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "the peer outcome did not come back in time"
        time.sleep(0.3)


def _sync_peers(regions: Regions) -> subprocess.CompletedProcess[str]:
    """``ketenpoort rights sync-peers`` against region A's database and covenants."""
    return regions.a.cli("rights", "sync-peers")


def _housing_at_b(regions: Regions, bsn: str) -> list[dict[str, Any]]:
    """What B's own partner gets from B's housing corporation about the person."""
    gemeente_b = regions.partner_b("gemeente-b")
    opened = gemeente_b.open_case("zvh-b", PURPOSE, bsn, [], "casusoverleg")
    assert opened.status_code == 201, opened.text
    response = gemeente_b.query(opened.json()["id"], ["huisvesting"], ["woningcorporatie-demo"])
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "ok", result
    return list(result["records"])


def test_a_correctie_reaches_the_peer_and_its_decision_comes_back(regions: Regions) -> None:
    assert all("contested" not in r for r in _housing_at_b(regions, CORRECTIE_BSN))
    case_id = _case_at_a(regions, CORRECTIE_BSN, ["zvh-b"])
    housing = _query_b(regions, case_id)
    assert housing["status"] == "ok", housing
    record = housing["records"][0]["id"]  # "woningcorporatie-demo/<id at B's source>"
    source_at_b, record_at_b = record.split("/", 1)

    filed = _file_at_a(
        regions,
        {
            "type": "correctie",
            "subject": {"bsn": CORRECTIE_BSN},
            "cases": [case_id],
            "source": "zvh-b",
            "records": [record],
            "details": "Ik woon niet meer op dit adres.",
        },
    )
    entry = _forwarding(filed, "zvh-b")
    assert entry["status"] == "forwarded", entry
    peer_id = entry["peer_request"]
    assert peer_id.startswith("rr-")

    # B filed its own request, under B's covenant, by A's gateway, about B's source.
    at_b = _read(regions.partner_b("fg-b"), peer_id)
    assert (at_b["type"], at_b["channel"], at_b["filed_by"]) == ("correctie", "peer", "zvh-a")
    assert (at_b["source"], at_b["records"]) == (source_at_b, [record_at_b])
    assert at_b["responsible_party"] == source_at_b
    assert {f["party"] for f in at_b["forwarded"]} == {source_at_b}
    received = regions.sources.source(source_at_b).rights_requests
    assert any(r.id == peer_id and r.type == "correctie" for r in received)
    # Pending at B: B's own partners see the record contested.
    marked = {r["id"]: r.get("contested") for r in _housing_at_b(regions, CORRECTIE_BSN)}
    assert marked[record_at_b] is True

    # B's filing is logged naming A's gateway and A's request id (no BSN in clear).
    entries = audit_entries(regions.partner_b("fg-b"), kind="rights", party="zvh-a")
    filed_entries = [e for e in entries if e["outcome"] == "filed"]
    assert any(e["details"].get("peer_request") == filed["id"] for e in filed_entries)
    assert CORRECTIE_BSN not in str(entries)

    decided = regions.partner_b(source_at_b).call(
        "POST",
        f"/v1/rights-requests/{peer_id}/decision",
        {"decision": "granted", "reason": "Adres aangepast."},
    )
    assert decided.status_code == 200, decided.text

    # A's background job pulls the outcome onto A's forwarding entry.
    gemeente_a = regions.partner_a("gemeente-a")

    def granted() -> dict[str, Any] | None:
        item = _forwarding(_read(gemeente_a, filed["id"]), "zvh-b")
        return item if item.get("outcome") == "granted" else None

    outcome = _wait_for(granted)
    assert outcome["outcome_at"] and outcome["peer_request"] == peer_id
    assert "executed_at" not in outcome or outcome["executed_at"] is None

    executed = regions.partner_b(source_at_b).call(
        "POST", f"/v1/rights-requests/{peer_id}/executed"
    )
    assert executed.status_code == 200, executed.text
    synced = _sync_peers(regions)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    after = _forwarding(_read(gemeente_a, filed["id"]), "zvh-b")
    assert after["outcome"] == "granted" and after["executed_at"], after

    logged = audit_entries(regions.partner_a("fg-a"), kind="rights", decision="peer_outcome")
    mine = [e for e in logged if e["details"].get("peer_request") == peer_id]
    assert [e["reason"] for e in mine][-2:] == ["granted", "granted"]
    assert all(e["source"] == "zvh-b" for e in mine)


def test_a_verzet_reaches_the_peer_and_restricts_its_mirror_case(regions: Regions) -> None:
    filed = _verzet_at_a(
        regions, VERZET_BSN, ["zvh-b"], "Ik maak bezwaar tegen het delen van mijn gegevens."
    )
    entry = _forwarding(filed, "zvh-b")
    assert entry["status"] == "forwarded", entry
    at_b = _read(regions.partner_b("fg-b"), entry["peer_request"])
    assert (at_b["type"], at_b["status"], at_b["filed_by"]) == ("verzet", "pending", "zvh-a")
    # A mirror case has only A's gateway as participant: all of B's own sources hear of it,
    # never a peer gateway (zvh-d is B's gateway source, zvh-a and zvh-x are peers).
    assert {f["party"] for f in at_b["forwarded"]} == {"politie-demo", "woningcorporatie-demo"}

    # Another case at A about the person: B's verzet now restricts what B gives A.
    other = _case_at_a(regions, VERZET_BSN, ["zvh-b"])
    restricted = _query_b(regions, other)
    assert (restricted["status"], restricted["reason"]) == ("denied", "peer_objection")


def test_a_peer_files_once_per_request_and_only_it_reads_the_outcome(regions: Regions) -> None:
    gemeente_b = regions.partner_b("gemeente-b")
    peer_x = regions.partner_b("zvh-x")
    body = {
        "type": "correctie",
        "subject": {"bsn": PEER_X_BSN},
        "peer_request": "rr-x-0001",
        "details": "Onjuiste registratie.",
        "records": [],
        "deadline": (datetime.now(UTC).date() + timedelta(days=10)).isoformat(),
    }
    # No case here in which zvh-x takes part: the uniform refusal, no oracle.
    refused = peer_x.call("POST", "/v1/federation/rights-requests", body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("rights-request-refused")

    opened = gemeente_b.open_case(
        "zvh-b", PURPOSE, PEER_X_BSN, ["zvh-x", "zvh-d", "politie-demo"], "casusoverleg"
    )
    assert opened.status_code == 201, opened.text
    # Taking part is not enough: only once B disclosed something to zvh-x in the case may
    # zvh-x file about the person (gateway/rights/peers.peer_cases).
    early = peer_x.call("POST", "/v1/federation/rights-requests", body)
    assert early.status_code == 422, early.text
    answer = peer_x.query(str(opened.json()["id"]), ["huisvesting"], ["politie-demo"])
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["ok"], answer.text
    first = peer_x.call("POST", "/v1/federation/rights-requests", body)
    assert first.status_code == 201, first.text
    again = peer_x.call("POST", "/v1/federation/rights-requests", body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert set(first.json()) == {"id", "type", "status", "deadline"}
    conflict = peer_x.call("POST", "/v1/federation/rights-requests", {**body, "type": "verzet"})
    assert conflict.status_code == 409, conflict.text

    request_id = first.json()["id"]
    at_b = _read(regions.partner_b("fg-b"), request_id)
    # zvh-d (a gateway source of B, and a participant) never gets a peer's request: one hop.
    assert [f["party"] for f in at_b["forwarded"]] == ["politie-demo"]
    assert at_b["deadline"][:10] == body["deadline"]  # the peer's deadline is earlier than B's

    own = peer_x.call("GET", f"/v1/federation/rights-requests/{request_id}")
    assert own.status_code == 200, own.text
    assert own.json()["peer_request"] == "rr-x-0001" and own.json()["status"] == "pending"
    for reader in (gemeente_b, regions.partner_b("fg-b")):  # no peer: refused before any look-up
        read = reader.call("GET", f"/v1/federation/rights-requests/{request_id}")
        assert read.status_code == 403 and read.json()["reason"] == "not_federation_party"
    unknown = peer_x.call("GET", "/v1/federation/rights-requests/rr-00000000000000000000")
    assert unknown.status_code == 404

    # Not a peer gateway: refused before anything about the person is touched, and logged.
    not_peer = gemeente_b.call("POST", "/v1/federation/rights-requests", body)
    assert not_peer.status_code == 403, not_peer.text
    assert not_peer.json()["reason"] == "not_federation_party"
    denials = audit_entries(regions.partner_b("fg-b"), kind="decision", party="gemeente-b")
    assert any(e["details"].get("federation") == "rights_request" for e in denials)


def test_another_peer_cannot_read_a_request_a_filed(regions: Regions) -> None:
    filed = _verzet_at_a(regions, CORRECTIE_BSN, ["zvh-b"])
    peer_id = _forwarding(filed, "zvh-b")["peer_request"]
    response = regions.partner_b("zvh-x").call("GET", f"/v1/federation/rights-requests/{peer_id}")
    assert response.status_code == 404


def test_zz_a_peer_that_is_down_fails_the_forward_and_the_sync_survives(
    regions: Regions,
) -> None:
    filed = _verzet_at_a(regions, DOWN_BSN, ["zvh-b", "zvh-c"])
    down = _forwarding(filed, "zvh-c")
    assert (down["status"], down["reason"]) == ("failed", "peer_unreachable")
    assert "peer_request" not in down or down["peer_request"] is None
    gemeente_a = regions.partner_a("gemeente-a")

    def pulled() -> dict[str, Any] | None:
        item = _forwarding(_read(gemeente_a, filed["id"]), "zvh-b")
        return item if item.get("outcome") == "pending" else None

    known = _wait_for(pulled)

    regions.b.stop()
    synced = _sync_peers(regions)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "not reachable" in synced.stdout
    time.sleep(2.5)  # a round of the background job against the stopped peer
    assert regions.a.process is not None and regions.a.process.poll() is None
    kept = _forwarding(_read(gemeente_a, filed["id"]), "zvh-b")
    assert kept == known  # the last known state, untouched
