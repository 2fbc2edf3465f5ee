"""The master key and pseudonym secret on disk: 0600, passphrase-sealed outside dev mode."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.audit.keyfiles import KeyFileError, load_or_create_secret
from gateway.settings import Settings
from gateway.subjects.bsn import Bsn
from gateway.wiring.audit_log import build_pseudonymizer


def test_created_once_with_mode_0600_and_sealed(tmp_path: Path) -> None:
    path = tmp_path / "gateway" / "master.key"
    first = load_or_create_secret(path, passphrase="correct horse", dev_mode=False)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.hex() not in path.read_text()
    assert load_or_create_secret(path, passphrase="correct horse", dev_mode=False) == first
    with pytest.raises(KeyFileError, match="passphrase"):
        load_or_create_secret(path, passphrase="wrong", dev_mode=False)


def test_refused_outside_dev_mode_without_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    with pytest.raises(KeyFileError, match="required"):
        load_or_create_secret(path, passphrase=None, dev_mode=False)
    assert not path.exists()
    load_or_create_secret(path, passphrase=None, dev_mode=True)
    with pytest.raises(KeyFileError, match="dev mode"):
        load_or_create_secret(path, passphrase="set later", dev_mode=False)


def test_pseudonymizer_is_stable_per_key_dir(tmp_path: Path) -> None:
    settings = Settings(key_dir=tmp_path / "one", key_passphrase="pw")
    bsn = Bsn("999990019")
    first = build_pseudonymizer(settings).pseudonym(bsn)
    assert build_pseudonymizer(settings).pseudonym(bsn) == first
    other = Settings(key_dir=tmp_path / "two", key_passphrase="pw")
    assert build_pseudonymizer(other).pseudonym(bsn) != first
    assert (tmp_path / "one" / "gateway" / "pseudonym.key").exists()
