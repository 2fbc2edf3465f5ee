"""Crypto-shredding: sealed values open only with the right key and context."""

from __future__ import annotations

import base64

import pytest

from gateway.audit.vault import (
    DataKey,
    KeyErased,
    VaultError,
    generate_key,
    open_sealed,
    seal,
    unwrap_key,
    wrap_key,
)

AAD = b"entry:disclosure:subject"


def test_seal_round_trip_and_fresh_nonces() -> None:
    key = generate_key()
    assert len(key) == 32
    first, second = seal(key, b"999990019", AAD), seal(key, b"999990019", AAD)
    assert first != second
    assert "=" not in first
    raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert raw[0] == 1
    assert len(raw) == 1 + 12 + len(b"999990019") + 16
    assert b"999990019" not in raw
    assert open_sealed(key, first, AAD) == b"999990019"


def test_wrong_key_or_context_fails() -> None:
    key = generate_key()
    token = seal(key, b"secret", AAD)
    with pytest.raises(VaultError):
        open_sealed(generate_key(), token, AAD)
    with pytest.raises(VaultError):
        open_sealed(key, token, b"entry:other")


def test_modified_token_fails() -> None:
    key = generate_key()
    raw = bytearray(base64.urlsafe_b64decode(seal(key, b"secret", AAD) + "=="))
    for position in (0, 5, len(raw) - 1):
        changed = bytearray(raw)
        changed[position] ^= 1
        token = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        with pytest.raises(VaultError):
            open_sealed(key, token, AAD)
    with pytest.raises(VaultError):
        open_sealed(key, "not*base64", AAD)


def test_wrap_binds_the_key_id() -> None:
    master = generate_key()
    data_key = DataKey.generate("subject-key-1")
    wrapped = data_key.wrap(master)
    assert DataKey.unwrap(master, "subject-key-1", wrapped) == data_key
    with pytest.raises(VaultError):
        unwrap_key(master, "subject-key-2", wrapped)
    with pytest.raises(VaultError):
        unwrap_key(generate_key(), "subject-key-1", wrapped)
    assert repr(data_key.secret) not in repr(data_key)


def test_wrapped_key_cannot_be_opened_as_a_sealed_value() -> None:
    master = generate_key()
    wrapped = wrap_key(master, "k", generate_key())
    with pytest.raises(VaultError):
        open_sealed(master, wrapped, b"k")


def test_erased_key_means_key_erased() -> None:
    master = generate_key()
    data_key = DataKey.generate("subject-key-1")
    token = seal(data_key.secret, b"name of the person", AAD)
    assert open_sealed(data_key, token, AAD) == b"name of the person"
    wrapped: str | None = data_key.wrap(master)
    wrapped = None
    with pytest.raises(KeyErased):
        DataKey.unwrap(master, "subject-key-1", wrapped)
    with pytest.raises(KeyErased):
        open_sealed(None, token, AAD)
    assert issubclass(KeyErased, VaultError)


def test_bad_key_lengths_are_refused() -> None:
    with pytest.raises(VaultError):
        seal(b"short", b"x", AAD)
    with pytest.raises(VaultError):
        wrap_key(generate_key(), "k", b"short")
