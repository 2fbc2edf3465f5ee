"""A psycopg cursor whose ``description`` makes its columns only when they are read.

psycopg builds a :class:`psycopg.Column` for every column of every result as
soon as ``description`` is asked for (five Python calls each). SQLAlchemy asks
after every statement, but reads the columns only the first time a compiled
statement runs: after that it reuses the result metadata it cached on the
compiled form and only checks that there is a description. On the query path
that was ~55 columns, ~290 Python calls and ~0.1 ms per brokered query made
and thrown away (issue 16). Here ``description`` is a sequence of the same
length whose columns are made on first access, from the result it was taken
from, so a later statement on the cursor does not change what it describes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg import pq


class _ResultOf:
    """The cursor as ``Column`` reads it, pinned to one result."""

    __slots__ = ("_cursor", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any], result: pq.abc.PGresult) -> None:
        self._cursor = cursor
        self.pgresult = result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)  # encoding, adapters: the connection's


class LazyDescription(Sequence[psycopg.Column]):
    """``cursor.description``: same length and columns, each made when first read."""

    __slots__ = ("_columns", "_cursor", "_result", "_source")

    def __init__(self, cursor: psycopg.Cursor[Any], result: pq.abc.PGresult) -> None:
        self._cursor = cursor
        self._result = result
        self._source: _ResultOf | None = None  # made with the first column
        self._columns: list[psycopg.Column | None] = [None] * result.nfields

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...

    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._columns))[index]]
        position = range(len(self._columns))[index]  # IndexError as a list raises it
        column = self._columns[position]
        if column is None:
            source = self._source
            if source is None:
                source = self._source = _ResultOf(self._cursor, self._result)
            column = psycopg.Column(source, position)  # type: ignore[arg-type]
            self._columns[position] = column
        return column

    def __iter__(self) -> Iterator[psycopg.Column]:
        return (self[i] for i in range(len(self._columns)))

    def __repr__(self) -> str:
        return repr(list(self))


_WITH_ROWS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """A client-side cursor whose ``description`` is a :class:`LazyDescription`."""

    @property
    def description(self) -> Sequence[psycopg.Column] | None:  # type: ignore[override]
        # psycopg's own rule: columns when the result has fields or said it has rows.
        result = self.pgresult
        if result and (result.nfields or result.status in _WITH_ROWS):
            return LazyDescription(self, result)
        return None
