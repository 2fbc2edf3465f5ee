"""The typed array lists: the values PostgreSQL reads are exactly the ones sent.

Each list goes to the server through its own dumper (asserted, so a test
cannot pass on psycopg's generic list dumper) and comes back as the same
values, NULLs where they were; a wrong header, length, byte order, epoch or
NULL flag makes the server refuse the array or return other values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy.engine import make_url

from gateway.storage import pg_arrays
from gateway.storage.pg_arrays import (
    ByteaArray,
    Int2Array,
    Int8Array,
    TextArray,
    TimestamptzArray,
)

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

AMSTERDAM = timezone(timedelta(hours=1))

CASES: list[tuple[type[list[Any]], str, list[Any]]] = [
    (Int2Array, "smallint", [0, 1, -1, 32767, -32768]),
    (Int2Array, "smallint", [None, 5, None]),
    (Int8Array, "bigint", [0, 1, 2**63 - 1, -(2**63), 4_000_000_000]),
    (Int8Array, "bigint", [7, None]),
    (Int8Array, "bigint", [None]),
    (TextArray, "text", ["", "a", "ümlaut ✓", "NULL", 'quo"te,{}', "x" * 5000]),
    (TextArray, "text", [None, "b", None]),
    (ByteaArray, "bytea", [b"", b"\x00\xff", bytes(range(256)), bytearray(b"ba")]),
    (ByteaArray, "bytea", [b"a", None]),
    (
        TimestamptzArray,
        "timestamptz",
        [
            datetime(2026, 12, 1, 16, 40, 5, 123456, tzinfo=UTC),
            datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(1970, 1, 1, tzinfo=AMSTERDAM),
            datetime(2000, 1, 1, tzinfo=UTC),
        ],
    ),
    (TimestamptzArray, "timestamptz", [None, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)]),
]


def _connect(database_url: str) -> psycopg.Connection[Any]:
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = psycopg.connect(conninfo, autocommit=True)
    pg_arrays.register(connection)
    return connection


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else value


@pytest.mark.parametrize(("array", "kind", "values"), CASES)
def test_values_arrive_exactly(
    database_url: str, array: type[list[Any]], kind: str, values: list[Any]
) -> None:
    with _connect(database_url) as connection:
        dumper = Transformer(connection).get_dumper(array(values), PyFormat.BINARY)
        assert type(dumper).__module__ == pg_arrays.__name__
        row = connection.execute(
            f"SELECT x, pg_typeof(x) = '{kind}[]'::regtype, cardinality(x), x IS NULL"
            f" FROM (SELECT %b AS x) AS p",
            [array(values)],
        ).fetchone()
        assert row is not None
        got, typed, length, is_null = row
        assert typed, "sent with the array's own type oid"
        assert (length, is_null) == (len(values), False)
        assert [_plain(v) for v in got] == [_plain(v) for v in values]
        # Element by element on the server too (NULLs included), not only after loading.
        nulls = connection.execute(
            "SELECT array_agg(e IS NULL ORDER BY n) FROM unnest(%b::"
            + kind
            + "[]) WITH ORDINALITY AS u(e, n)",
            [array(values)],
        ).fetchone()
        assert nulls is not None
        assert nulls[0] == [v is None for v in values]


@pytest.mark.parametrize("array", [Int2Array, Int8Array, TextArray, ByteaArray, TimestamptzArray])
def test_an_empty_list_is_the_empty_array(database_url: str, array: type[list[Any]]) -> None:
    with _connect(database_url) as connection:
        row = connection.execute(
            "SELECT cardinality(x), x IS NULL, (SELECT count(*) FROM unnest(x))"
            " FROM (SELECT %b AS x) AS p",
            [array()],
        ).fetchone()
        assert row == (0, False, 0)


def test_timestamps_are_the_instant_in_microseconds(database_url: str) -> None:
    moment = datetime(2026, 12, 1, 17, 40, 5, 654321, tzinfo=AMSTERDAM)
    with _connect(database_url) as connection:
        row = connection.execute(
            "SELECT extract(epoch FROM x[1])::numeric * 1000000 FROM (SELECT %b AS x) AS p",
            [TimestamptzArray([moment])],
        ).fetchone()
        assert row is not None
        assert int(row[0]) == int(moment.timestamp()) * 1_000_000 + 654321


@pytest.mark.parametrize(
    ("array", "value"), [(Int2Array, 32768), (Int8Array, 2**63), (Int2Array, -32769)]
)
def test_out_of_range_is_a_data_error(
    database_url: str, array: type[list[Any]], value: int
) -> None:
    with _connect(database_url) as connection, pytest.raises(psycopg.DataError):
        connection.execute("SELECT %b", [array([1, value])])
    with _connect(database_url) as connection, pytest.raises(psycopg.DataError):
        connection.execute("SELECT %b", [array([None, value])])


def test_a_naive_timestamp_is_refused(database_url: str) -> None:
    with _connect(database_url) as connection, pytest.raises(TypeError):
        connection.execute("SELECT %b", [TimestamptzArray([datetime(2026, 1, 1)])])
