"""Typed lists that psycopg sends as binary PostgreSQL arrays without inspecting them.

A plain ``list`` parameter makes psycopg find out what it holds on every
execution: it scans for the first non-NULL element, asks for that element's
dumper, works out the dimensions and then dumps element by element, one
Python call or more per element (issue 16: ~160 calls per brokered query, all
in the audit batch's one-statement ``INSERT … unnest``). A column whose
element type is known needs none of that: wrapping it in one of the lists
below picks a dumper with the array's fixed oid that writes PostgreSQL's
binary array format in a handful of calls, whatever the length.

The bytes on the wire are what psycopg's own dumpers send for the same
values (the tests hold them equal): one dimension with lower bound 1, the
element oid, a NULL flag, and per element its length (-1 for NULL) and its
binary form (big-endian integers, microseconds since 2000-01-01 UTC, the
connection's encoding for text, the bytes as they are for ``bytea``). An
empty list is the empty array. A value the element type cannot hold raises
:class:`psycopg.DataError`, as the server would refuse it.

The dumpers are registered per connection (:func:`register`), on the
connections our engine makes; on any other connection the lists are still
lists and psycopg dumps them its own way.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import adapt, pq
from psycopg.abc import AdaptContext, Buffer

# The element and array type oids (pg_type), fixed since PostgreSQL 7.
_INT2, _INT2_ARRAY = 21, 1005
_INT8, _INT8_ARRAY = 20, 1016
_TEXT, _TEXT_ARRAY = 25, 1009
_BYTEA, _BYTEA_ARRAY = 17, 1001
_TIMESTAMPTZ, _TIMESTAMPTZ_ARRAY = 1184, 1185

_EMPTY = struct.Struct("!iii")  # ndim 0, no NULLs, element oid
_HEAD = struct.Struct("!iiiii")  # ndim 1, has NULLs, element oid, length, lower bound 1
_LENGTH = struct.Struct("!i").pack
_NULL = b"\xff\xff\xff\xff"  # length -1
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Int2Array(list[int | None]):
    """A ``smallint[]`` parameter."""


class Int8Array(list[int | None]):
    """A ``bigint[]`` parameter."""


class TextArray(list[str | None]):
    """A ``text[]`` parameter."""


class ByteaArray(list[bytes | None]):
    """A ``bytea[]`` parameter."""


class TimestamptzArray(list[datetime | None]):
    """A ``timestamptz[]`` parameter; every value must carry its time zone."""


def _fixed(values: list[Any], oid: int, size: int, code: str) -> bytes:
    """A one-dimensional array of fixed-size elements packed in one ``struct`` call."""
    count = len(values)
    if not count:
        return _EMPTY.pack(0, 0, oid)
    try:
        if None not in values:
            flat: list[Any] = [size, 0] * count
            flat[1::2] = values
            return _HEAD.pack(1, 0, oid, count, 1) + struct.pack("!" + ("i" + code) * count, *flat)
        parts = [
            _NULL if value is None else _LENGTH(size) + struct.pack(f"!{code}", value)
            for value in values
        ]
    except struct.error as exc:
        raise psycopg.DataError(f"array element out of range: {exc}") from None
    return _HEAD.pack(1, 1, oid, count, 1) + b"".join(parts)


def _varying(values: list[Any], oid: int, parts: list[bytes]) -> bytes:
    """A one-dimensional array of variable-length elements from their framed ``parts``."""
    if not values:
        return _EMPTY.pack(0, 0, oid)
    return _HEAD.pack(1, int(None in values), oid, len(values), 1) + b"".join(parts)


class _ArrayDumper(adapt.Dumper):
    format = pq.Format.BINARY


class Int2ArrayDumper(_ArrayDumper):
    oid = _INT2_ARRAY

    def dump(self, obj: list[int | None]) -> Buffer:
        return _fixed(obj, _INT2, 2, "h")


class Int8ArrayDumper(_ArrayDumper):
    oid = _INT8_ARRAY

    def dump(self, obj: list[int | None]) -> Buffer:
        return _fixed(obj, _INT8, 8, "q")


class TimestamptzArrayDumper(_ArrayDumper):
    oid = _TIMESTAMPTZ_ARRAY

    def dump(self, obj: list[datetime | None]) -> Buffer:
        # Exact integer microseconds (timedelta // timedelta), as psycopg computes them;
        # a naive value raises TypeError here rather than be read in the session's zone.
        micros = [None if t is None else (t - _PG_EPOCH) // _MICROSECOND for t in obj]
        return _fixed(micros, _TIMESTAMPTZ, 8, "q")


class TextArrayDumper(_ArrayDumper):
    oid = _TEXT_ARRAY

    def __init__(self, cls: type, context: AdaptContext | None = None) -> None:
        super().__init__(cls, context)
        connection = self.connection
        self._encoding = connection.info.encoding if connection is not None else "utf-8"

    def dump(self, obj: list[str | None]) -> Buffer:
        encoding = self._encoding
        parts = [_NULL if s is None else _LENGTH(len(b := s.encode(encoding))) + b for s in obj]
        return _varying(obj, _TEXT, parts)


class ByteaArrayDumper(_ArrayDumper):
    oid = _BYTEA_ARRAY

    def dump(self, obj: list[Buffer | None]) -> Buffer:
        parts = [_NULL if value is None else _LENGTH(len(value)) + value for value in obj]
        return _varying(obj, _BYTEA, parts)


_DUMPERS: tuple[tuple[type, type[adapt.Dumper]], ...] = (
    (Int2Array, Int2ArrayDumper),
    (Int8Array, Int8ArrayDumper),
    (TextArray, TextArrayDumper),
    (ByteaArray, ByteaArrayDumper),
    (TimestamptzArray, TimestamptzArrayDumper),
)


def register(context: AdaptContext) -> None:
    """Use the typed dumpers on ``context`` (a connection, or a cursor's adapters)."""
    for cls, dumper in _DUMPERS:
        context.adapters.register_dumper(cls, dumper)
