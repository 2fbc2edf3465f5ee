"""Who signs checkpoints: anything with a ``kid``, ``sign`` and a ``jwks``.

The audit log depends on this small protocol rather than on the key store, so
key rotation and storage stay the key store's business; :class:`KeyStoreSigner`
adapts :class:`gateway.keys.KeyStore` (its ``audit`` keys).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.core.checkpoint_format import key_id, public_jwk
from gateway.keys import KeyStore, KeyStoreError


class CheckpointSigner(Protocol):
    @property
    def kid(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...

    def jwks(self) -> dict[str, Any]: ...


class Ed25519Signer:
    """One fixed Ed25519 key (tests, benchmarks, a single-key deployment)."""

    def __init__(self, private_key: Ed25519PrivateKey, kid: str | None = None) -> None:
        self._key = private_key
        self._kid = kid or key_id(private_key.public_key())

    @property
    def kid(self) -> str:
        return self._kid

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self._key.public_key(), self._kid)]}


class KeyStoreSigner:
    """Signs with whatever audit key the key store calls current right now.

    The store is opened on first use, so building the log never touches the
    key directory; a missing passphrase surfaces when a checkpoint is due.
    """

    def __init__(self, keys: KeyStore | Callable[[], KeyStore]) -> None:
        self._keys = keys if isinstance(keys, KeyStore) else None
        self._open = None if isinstance(keys, KeyStore) else keys
        self._lock = threading.Lock()

    def store(self) -> KeyStore:
        with self._lock:
            if self._keys is None:
                assert self._open is not None
                self._keys = self._open()
            return self._keys

    def _current(self) -> tuple[str, Ed25519PrivateKey]:
        key = self.store().current("audit")
        if not isinstance(key.private_key, Ed25519PrivateKey):
            raise KeyStoreError("the audit key must be Ed25519")
        return key.kid, key.private_key

    @property
    def kid(self) -> str:
        return self._current()[0]

    def sign(self, data: bytes) -> bytes:
        return self._current()[1].sign(data)

    def signed(self, data: bytes) -> tuple[str, bytes]:
        """kid and signature from one read, so a rotation cannot split them."""
        kid, private_key = self._current()
        return kid, private_key.sign(data)

    def jwks(self) -> dict[str, Any]:
        return self.store().jwks("audit")
