"""The gateway's key store: encrypted at rest, owner-only files, fail closed on anything odd."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.keys import KeyStore, KeyStoreError

PASSPHRASE = "correct horse battery staple"


def test_generate_creates_one_key_per_use_encrypted_and_owner_only(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    created = store.ensure()
    assert sorted(r.use for r in created) == ["audit", "token"]
    assert store.ensure() == []
    for record in created:
        path = store.directory / record.file
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manifest = store.directory / "manifest.json"
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    entries = json.loads(manifest.read_text())["keys"]
    assert {(e["use"], e["alg"]) for e in entries} == {("token", "ES256"), ("audit", "Ed25519")}
    assert isinstance(store.current("token").private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(store.current("audit").private_key, ed25519.Ed25519PrivateKey)


def test_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    for use in ("token", "audit"):
        published = KeySet.import_key_set(store.jwks(use)).keys[0]  # type: ignore[arg-type]
        assert published.kid == published.thumbprint() == store.current(use).kid


def test_signatures_verify_against_the_published_jwks(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    key = store.current("token")
    token = jwt.encode({"alg": key.alg, "kid": key.kid}, {"x": 1}, key.jwk)
    assert jwt.decode(token, store.verification_keys("token")).claims == {"x": 1}


def test_passphrase_required_outside_dev_mode(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="PASSPHRASE"):
        KeyStore(tmp_path, None)
    dev = KeyStore(tmp_path, None, dev_mode=True)
    dev.ensure()
    pem = (dev.directory / dev.records("token")[0].file).read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_wrong_passphrase_fails_closed(tmp_path: Path) -> None:
    KeyStore(tmp_path, PASSPHRASE).ensure()
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        KeyStore(tmp_path, "not it").current("token")
    with pytest.raises(KeyStoreError, match="no passphrase"):
        KeyStore(tmp_path, None, dev_mode=True).current("token")


def test_corrupt_manifest_and_key_fail_closed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    record = store.records("token")[0]
    (store.directory / record.file).write_bytes(b"garbage")
    with pytest.raises(KeyStoreError, match="cannot decrypt or parse"):
        KeyStore(tmp_path, PASSPHRASE).current("token")
    (store.directory / "manifest.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match="unreadable key manifest"):
        KeyStore(tmp_path, PASSPHRASE).current("audit")


def test_swapped_key_file_is_detected(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    old = store.records("token")[0]
    new = store.rotate("token")
    (store.directory / new.file).write_bytes((store.directory / old.file).read_bytes())
    with pytest.raises(KeyStoreError, match="does not match its kid"):
        KeyStore(tmp_path, PASSPHRASE).current("token")


def test_manifest_cannot_point_outside_the_key_directory(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    manifest = store.directory / "manifest.json"
    document = json.loads(manifest.read_text())
    document["keys"][0]["file"] = "../../etc/passwd"
    manifest.write_text(json.dumps(document))
    with pytest.raises(KeyStoreError, match="outside the key directory"):
        KeyStore(tmp_path, PASSPHRASE).records()


def test_no_current_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="keys generate"):
        KeyStore(tmp_path, PASSPHRASE).current("token")


def test_rotation_retires_the_old_key_and_keeps_one_current(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE)
    store.ensure()
    first = store.current("token").kid
    second = store.rotate("token")
    records = {r.kid: r for r in store.records("token")}
    assert records[first].retired_at is not None
    assert records[second.kid].retired_at is None
    assert store.current("token").kid == second.kid
    assert store.current("audit").kid == store.records("audit")[0].kid
