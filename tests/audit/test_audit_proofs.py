"""Proofs served from the database, checked against RFC 9162 written out naively here,
and the public HTTP endpoints that serve them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.audit.checkpoints import make_checkpoint, prove_consistency, prove_inclusion
from gateway.audit.core.merkle import verify_consistency, verify_inclusion
from gateway.audit.log import AuditLog
from gateway.audit.models import AuditEntry
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import SqlNodeStore
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.audit.conftest import event

SIZES = [1, 2, 3, 5, 8, 13, 21]


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 over *leaf hashes* (the leaf inputs are the stored entries)."""
    if not leaves:
        return h(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = k_of(len(leaves))
    return h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = k_of(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = k_of(n)
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


@pytest.fixture
def signed(audit_log: AuditLog, db: Database, signer: Ed25519Signer) -> list[bytes]:
    done = 0
    for size in SIZES:
        audit_log.append_sync([event(n) for n in range(done, size)])
        done = size
        with db.session() as session:
            make_checkpoint(session, signer)
    with db.session() as session:
        leaves = list(session.scalars(select(AuditEntry.body).order_by(AuditEntry.seq)))
    return [h(b"\x00" + body.encode()) for body in leaves]


def test_stored_leaves_are_rfc9162_leaf_hashes_of_the_bodies(
    signed: list[bytes], db: Database
) -> None:
    with db.session() as session:
        stored = list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)))
    assert [bytes(x) for x in stored] == signed


def test_inclusion_proofs_match_the_reference(signed: list[bytes], db: Database) -> None:
    with db.session() as session:
        for size in SIZES:
            for seq in range(size):
                proof = prove_inclusion(session, seq, size)
                assert list(proof.path) == path(seq, signed[:size])
                assert proof.checkpoint.root_hash == mth(signed[:size]).hex()
                assert verify_inclusion(signed[seq], seq, size, proof.path, mth(signed[:size]))


def test_consistency_proofs_match_the_reference(signed: list[bytes], db: Database) -> None:
    with db.session() as session:
        for i, m in enumerate(SIZES):
            for n in SIZES[i:]:
                proof = prove_consistency(session, m, n)
                expected = [] if m == n else subproof(m, signed[:n], True)
                assert list(proof.path) == expected
                assert verify_consistency(m, n, mth(signed[:m]), mth(signed[:n]), proof.path)


def test_root_reads_stay_logarithmic(signed: list[bytes], db: Database) -> None:
    """One root of size 21 needs 3 stored subtrees (16 + 4 + 1), not 21 leaves."""

    class Counting(SqlNodeStore):
        asked = 0

        def get_nodes(self, keys):  # type: ignore[no-untyped-def]
            Counting.asked += len(keys)
            return super().get_nodes(keys)

    from gateway.audit.core.merkle import root

    with db.session() as session:
        assert root(21, Counting(session)) == mth(signed)
    assert Counting.asked == 3


@pytest.fixture
def client(settings: Settings, signed: list[bytes], signer: Ed25519Signer) -> Iterator[TestClient]:
    runtime = Runtime.build(settings)
    runtime.__dict__["audit"] = build_audit_log(settings, runtime.db, signer)
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client
    runtime.close()


def test_checkpoint_endpoint(
    client: TestClient, signed: list[bytes], signer: Ed25519Signer
) -> None:
    latest = client.get("/v1/audit/checkpoint").json()
    assert latest["size"] == 21
    assert latest["root_hash"] == mth(signed).hex()
    assert latest["kid"] == signer.kid
    earlier = client.get("/v1/audit/checkpoint", params={"size": 8}).json()
    assert earlier["root_hash"] == mth(signed[:8]).hex()
    missing = client.get("/v1/audit/checkpoint", params={"size": 9})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/audit/jwks").json() == signer.jwks()


def test_proof_endpoints(client: TestClient, signed: list[bytes]) -> None:
    body = client.get("/v1/audit/proofs/inclusion", params={"seq": 6, "size": 13}).json()
    proof = [bytes.fromhex(x) for x in body["proof"]]
    assert body["leaf_hash"] == signed[6].hex()
    assert verify_inclusion(signed[6], 6, 13, proof, bytes.fromhex(body["root_hash"]))
    body = client.get("/v1/audit/proofs/consistency", params={"from": 5, "to": 21}).json()
    proof = [bytes.fromhex(x) for x in body["proof"]]
    assert verify_consistency(5, 21, mth(signed[:5]), mth(signed), proof)
    assert body["from_checkpoint"]["size"] == 5


@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        ("/v1/audit/proofs/inclusion", {"seq": 3, "size": 9}, 404),
        ("/v1/audit/proofs/inclusion", {"seq": 13, "size": 13}, 422),
        ("/v1/audit/proofs/inclusion", {"seq": -1, "size": 13}, 422),
        ("/v1/audit/proofs/consistency", {"from": 13, "to": 5}, 422),
        ("/v1/audit/proofs/consistency", {"from": 4, "to": 21}, 404),
        ("/v1/audit/proofs/consistency", {"from": 5, "to": 22}, 404),
    ],
)
def test_bad_proof_requests_are_problems(
    client: TestClient, url: str, params: dict[str, int], status: int
) -> None:
    response = client.get(url, params=params)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
