"""The append path's encoder writes exactly the RFC 8785 bytes of the reference library."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.core.canonical import canonical_bytes
from gateway.audit.core.fast_canonical import entry_bytes

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text()
)
keys = st.text(min_size=0, max_size=12)
values = st.recursive(
    scalars, lambda inner: st.dictionaries(keys, inner, max_size=5), max_leaves=20
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, values, max_size=12))
def test_same_bytes_as_rfc8785(entry: dict[str, object]) -> None:
    assert entry_bytes(entry) == canonical_bytes(entry)


def test_escapes_and_non_ascii() -> None:
    entry = {"b": '\x00\x1f\b\f\n\r\t"\\/é€\u2028😀', "a": 2**53 - 1, "é": True}
    assert entry_bytes(entry) == canonical_bytes(entry)
