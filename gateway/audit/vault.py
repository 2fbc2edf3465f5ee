"""Crypto-shredding (promise 7): per-subject data keys under a master key.

Personal data in a log entry is sealed under the subject's data key before the
entry is hashed, so the tree covers only ciphertext. Erasure deletes the
wrapped data key (storage sets it to ``None``); the sealed bytes stay in the
log, the tree still verifies, and nobody can read the person back.

Tokens are base64url (no padding) of ``version || nonce(12) || ciphertext+tag``
(AES-256-GCM, NIST SP 800-38D). The version byte and a purpose label are part
of the associated data, so a wrapped key can never be opened as a sealed field
or the other way round, and a wrapped key only unwraps under its own key id.
These functions are pure: storing wrapped keys is the caller's job.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_VERSION = 1
_VERSION_BYTE = bytes([TOKEN_VERSION])
_SEAL_LABEL = b"ketenpoort/vault/seal:"
_WRAP_LABEL = b"ketenpoort/vault/wrap:"


class VaultError(Exception):
    """A sealed value or wrapped key that cannot be opened (wrong key, context or bytes)."""


class KeyErased(VaultError):
    """The data key was destroyed on purpose: the person can no longer be read."""


@dataclass(frozen=True)
class DataKey:
    """A subject's 256-bit data key, named so its wrapping binds to that name."""

    key_id: str
    secret: bytes = field(repr=False)

    @classmethod
    def generate(cls, key_id: str) -> DataKey:
        return cls(key_id=key_id, secret=generate_key())

    def wrap(self, master_key: bytes) -> str:
        return wrap_key(master_key, self.key_id, self.secret)

    @classmethod
    def unwrap(cls, master_key: bytes, key_id: str, wrapped: str | None) -> DataKey:
        return cls(key_id=key_id, secret=unwrap_key(master_key, key_id, wrapped))


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _check_key(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise VaultError("keys must be 256 bits")
    return _cipher(key)


@lru_cache(maxsize=4096)
def _cipher(key: bytes) -> AESGCM:
    """One AES-GCM context per key: the key schedule was a third of every seal."""
    return AESGCM(key)


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = _check_key(key).encrypt(nonce, plaintext, _VERSION_BYTE + aad)
    return base64.urlsafe_b64encode(_VERSION_BYTE + nonce + sealed).rstrip(b"=").decode("ascii")


def _decrypt(key: bytes, token: str, aad: bytes) -> bytes:
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VaultError("token is not base64url") from exc
    if len(raw) < 1 + NONCE_BYTES + 16 or raw[0] != TOKEN_VERSION:
        raise VaultError("token has an unknown version or is truncated")
    try:
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        return _check_key(key).decrypt(nonce, sealed, raw[:1] + aad)
    except InvalidTag as exc:
        raise VaultError("token does not open under this key and context") from exc


def wrap_key(master_key: bytes, key_id: str, data_key: bytes) -> str:
    """Encrypt a data key under the master key, bound to ``key_id``."""
    if len(data_key) != KEY_BYTES:
        raise VaultError("data keys must be 256 bits")
    return _encrypt(master_key, data_key, _WRAP_LABEL + key_id.encode("utf-8"))


def unwrap_key(master_key: bytes, key_id: str, wrapped: str | None) -> bytes:
    """The data key back; ``wrapped=None`` is how storage says the key was erased."""
    if wrapped is None:
        raise KeyErased("this data key has been erased")
    data_key = _decrypt(master_key, wrapped, _WRAP_LABEL + key_id.encode("utf-8"))
    if len(data_key) != KEY_BYTES:
        raise VaultError("wrapped key has the wrong length")
    return data_key


def seal(data_key: bytes, plaintext: bytes, aad: bytes) -> str:
    """Encrypt personal data; ``aad`` should bind where it lives (entry kind, field)."""
    return _encrypt(data_key, plaintext, _SEAL_LABEL + aad)


def open_sealed(data_key: bytes | DataKey | None, token: str, aad: bytes) -> bytes:
    """Decrypt a sealed value; ``data_key=None`` means the subject's key is gone."""
    if data_key is None:
        raise KeyErased("the data key for this value has been erased")
    secret = data_key.secret if isinstance(data_key, DataKey) else data_key
    return _decrypt(secret, token, _SEAL_LABEL + aad)
