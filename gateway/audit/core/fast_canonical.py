"""RFC 8785 bytes of an audit entry at C speed, for the append path.

For the shapes an entry has (ASCII keys; strings; integers within ±2**53;
booleans; null; nested objects) the stdlib encoder with sorted keys, no
whitespace and ``ensure_ascii=False`` writes exactly the JCS bytes: the same
escapes (``\\b \\f \\n \\r \\t``, other controls as lowercase ``\\u00xx``), raw
UTF-8 otherwise, and code-point key order equals UTF-16 order for ASCII keys.
Anything outside those shapes goes to :func:`canonical_bytes`. The property
test holds the two encoders equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.audit.core.canonical import canonical_bytes

_SAFE_INT = 2**53
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


def _plain(entry: dict[Any, Any]) -> bool:
    """ASCII string keys, and only strings, safe integers, booleans, null and such objects.

    Iterative and without a call per value: this check ran on every append.
    Lone surrogates in strings are left to the UTF-8 encode in :func:`entry_bytes`.
    """
    pending = [entry]
    while pending:
        for key, item in pending.pop().items():
            if type(key) is not str or not key.isascii():
                return False
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if kind is int:
                if not -_SAFE_INT < item < _SAFE_INT:
                    return False
            elif kind is dict:
                pending.append(item)
            else:
                return False
    return True


def entry_bytes(entry: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``entry``; identical to :func:`canonical_bytes`."""
    if type(entry) is dict and _plain(entry):
        try:
            return _encode(entry).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the reference encoder decides
            pass
    return canonical_bytes(entry)
