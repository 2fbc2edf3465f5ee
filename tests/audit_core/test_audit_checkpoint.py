"""Signed tree heads: sign, verify against a JWKS, refuse anything altered."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit.core.checkpoint_format import (
    Checkpoint,
    CheckpointError,
    key_id,
    public_jwk,
    sign_checkpoint,
    verify_checkpoint,
)

ROOT = hashlib.sha256(b"some root").digest()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def jwks_for(*keys: Ed25519PrivateKey) -> dict[str, list[dict[str, str]]]:
    return {"keys": [public_jwk(k.public_key()) for k in keys]}


def test_kid_is_the_rfc7638_thumbprint_of_the_rfc8037_example() -> None:
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    assert key_id(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    jwk = public_jwk(public)
    assert (jwk["kty"], jwk["crv"], jwk["x"], jwk["kid"]) == (
        "OKP",
        "Ed25519",
        x,
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    )


def test_signature_is_over_canonical_size_root_time(key: Ed25519PrivateKey) -> None:
    head = sign_checkpoint(12, ROOT, key, time=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
    assert head.root_hash == ROOT.hex()
    assert head.time == "2025-03-01T09:30:00Z"
    assert "=" not in head.signature
    message = f'{{"root_hash":"{ROOT.hex()}","size":12,"time":"2025-03-01T09:30:00Z"}}'.encode()
    signature = base64.urlsafe_b64decode(head.signature + "==")
    key.public_key().verify(signature, message)
    verify_checkpoint(head, jwks_for(key))


def test_json_round_trip(key: Ed25519PrivateKey) -> None:
    head = sign_checkpoint(3, ROOT, key)
    again = Checkpoint.from_json(head.to_json())
    assert again == head
    verify_checkpoint(again, jwks_for(key))


@pytest.mark.parametrize(
    "change",
    [
        {"size": 13},
        {"root_hash": hashlib.sha256(b"other").hexdigest()},
        {"time": "2025-03-01T09:30:01Z"},
    ],
)
def test_altered_head_is_rejected(key: Ed25519PrivateKey, change: dict[str, object]) -> None:
    head = sign_checkpoint(12, ROOT, key, time=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
    with pytest.raises(CheckpointError, match="signature"):
        verify_checkpoint(replace(head, **change), jwks_for(key))  # type: ignore[arg-type]


def test_wrong_key_is_rejected(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    head = sign_checkpoint(12, ROOT, key)
    with pytest.raises(CheckpointError, match="no key"):
        verify_checkpoint(head, jwks_for(other))
    forged = replace(head, kid=key_id(other.public_key()))
    with pytest.raises(CheckpointError, match="signature"):
        verify_checkpoint(forged, jwks_for(key, other))


def test_key_of_other_type_under_the_kid_is_refused(key: Ed25519PrivateKey) -> None:
    head = sign_checkpoint(1, ROOT, key)
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "kid": head.kid, "x": "", "y": ""}]}
    with pytest.raises(CheckpointError, match="not an Ed25519"):
        verify_checkpoint(head, jwks)


@pytest.mark.parametrize(
    "field,value",
    [
        ("size", -1),
        ("size", True),
        ("root_hash", "AB" * 32),
        ("root_hash", "ab"),
        ("time", "2025-03-01 09:30:00"),
        ("kid", ""),
    ],
)
def test_malformed_heads_are_refused(key: Ed25519PrivateKey, field: str, value: object) -> None:
    data = sign_checkpoint(1, ROOT, key).to_json()
    data[field] = value
    with pytest.raises(CheckpointError):
        Checkpoint.from_json(data)


def test_padded_or_garbled_signature_is_refused(key: Ed25519PrivateKey) -> None:
    head = sign_checkpoint(1, ROOT, key)
    for signature in (head.signature + "=", head.signature[:-2] + "!!", ""):
        with pytest.raises(CheckpointError):
            verify_checkpoint(replace(head, signature=signature), jwks_for(key))
