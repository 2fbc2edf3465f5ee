"""The gateway's own signing keys (access tokens, source tokens, audit checkpoints)."""

from gateway.keys.manifest import KEY_USES, KeyRecord, KeyStoreError, KeyUse
from gateway.keys.store import (
    ALGORITHMS,
    MANIFEST_RECHECK_S,
    MAX_TOKEN_LIFETIME,
    TOKEN_KEY_GRACE,
    KeyStore,
    SigningKey,
)

__all__ = [
    "ALGORITHMS",
    "KEY_USES",
    "MANIFEST_RECHECK_S",
    "MAX_TOKEN_LIFETIME",
    "TOKEN_KEY_GRACE",
    "KeyRecord",
    "KeyStore",
    "KeyStoreError",
    "KeyUse",
    "SigningKey",
]
