"""RFC 8785 canonical JSON and the RFC 9162 §2.1 hashing rules.

Every party that recomputes a leaf (the gateway, the offline verifier, an
auditor with their own tooling) must arrive at the same bytes, so the entry is
canonicalised with the JSON Canonicalization Scheme rather than ``json.dumps``.
The 0x00/0x01 prefixes keep a leaf from ever being mistaken for an inner node
(the second-preimage defence of RFC 9162).
"""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import sha256
from typing import Any

import rfc8785

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"").digest()
"""MTH({}) of RFC 9162 §2.1.1: the hash of the empty string."""


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 bytes of a JSON value; mappings are copied to dicts for the encoder."""
    if isinstance(obj, Mapping) and not isinstance(obj, dict):
        obj = dict(obj)
    return rfc8785.dumps(obj)


def leaf_hash_of_bytes(canonical: bytes) -> bytes:
    """Leaf hash when the canonical bytes are already at hand (export, storage)."""
    return sha256(LEAF_PREFIX + canonical).digest()


def leaf_hash(entry: Mapping[str, Any]) -> bytes:
    """SHA-256(0x00 || RFC 8785 bytes of the entry, exactly as stored)."""
    return sha256(LEAF_PREFIX + canonical_bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return sha256(NODE_PREFIX + left + right).digest()
