"""The append path's encoder writes exactly the RFC 8785 bytes of the reference library."""

from __future__ import annotations

from collections.abc import Callable

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


def test_every_code_point_as_the_reference_writes_it() -> None:
    """Every scalar value but the surrogates, in a value and a nested one: the same bytes."""
    for start in range(0, 0x110000, 0x4000):
        text = "".join(
            chr(c) for c in range(start, min(start + 0x4000, 0x110000)) if not 0xD800 <= c <= 0xDFFF
        )
        entry = {"v": text, "nested": {"z": text[:7], "a": 1}, "n": None}
        assert entry_bytes(entry) == canonical_bytes(entry), hex(start)


def _outcome(encode: Callable[[dict[str, object]], bytes], entry: dict[str, object]) -> object:
    """The bytes, or the type of what the encoder raised."""
    try:
        return encode(entry)
    except Exception as exc:
        return type(exc)


def test_shapes_outside_the_fast_path_go_to_the_reference() -> None:
    """A lone surrogate, an unsafe integer, a float, a list, a non-ASCII key: as the reference."""
    entries: tuple[dict[str, object], ...] = (
        {"v": "a\ud800b"},
        {"big": 2**53, "x": "y"},
        {"f": 1.5},
        {"list": [1, "a"]},
        {"é": 1, "e": 2},
        {"k": {"ü": "v"}},
    )
    for entry in entries:
        assert _outcome(entry_bytes, entry) == _outcome(canonical_bytes, entry), entry
