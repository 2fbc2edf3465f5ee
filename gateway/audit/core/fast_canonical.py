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
import re
from collections.abc import Mapping
from typing import Any

from gateway.audit.core.canonical import canonical_bytes

_SAFE_INT = 2**53
_SURROGATE = re.compile("[\ud800-\udfff]")
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return bool(value.isascii() or not _SURROGATE.search(value))
    if kind is int:
        return bool(-_SAFE_INT < value < _SAFE_INT)
    if value is None or kind is bool:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    return False


def entry_bytes(entry: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``entry``; identical to :func:`canonical_bytes`."""
    if _plain(entry):
        return _encode(entry).encode("utf-8")
    return canonical_bytes(entry)
