"""``LazyDescriptionCursor``: psycopg's ``description``, its columns made when read.

The description must be the one psycopg gives (every field of every column),
describe the result it was taken from even after the cursor moved on, and be
what SQLAlchemy needs on the engine's connections (results by column name).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from gateway.storage.pg_cursor import LazyDescription, LazyDescriptionCursor
from gateway.storage.pg_deadlines import postgresql_engine

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

MIXED = (
    "SELECT 1::int AS one, 'x'::varchar(12) AS label, 2.5::numeric(6, 2) AS amount, "
    "now() AS at, '\\x00'::bytea AS raw, NULL::text AS nothing, ARRAY[1, 2] AS list"
)


def _connect(database_url: str) -> psycopg.Connection[Any]:
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    return psycopg.connect(conninfo)


def _fields(description: Any) -> list[tuple[Any, ...]]:
    return [(*tuple(column), column.name, column.type_code) for column in description]


@pytest.mark.parametrize(
    "query", [MIXED, "SELECT", "SELECT 1 WHERE false", "SELECT 1 AS a, 2 AS a"]
)
def test_the_same_description_as_psycopgs(database_url: str, query: str) -> None:
    with _connect(database_url) as connection:
        plain = connection.cursor()
        plain.execute(query)
        lazy = LazyDescriptionCursor(connection)
        lazy.execute(query)
        assert plain.description is not None
        described = lazy.description
        assert isinstance(described, LazyDescription)
        assert len(described) == len(plain.description)
        assert _fields(described) == _fields(plain.description)
        assert [c.name for c in described[1:]] == [c.name for c in plain.description[1:]]
        if len(described):
            assert described[-1].name == plain.description[-1].name
            with pytest.raises(IndexError):
                described[len(described)]


def test_no_description_for_a_result_without_rows(database_url: str) -> None:
    with _connect(database_url) as connection:
        cursor = LazyDescriptionCursor(connection)
        assert cursor.description is None  # nothing executed
        cursor.execute("CREATE TEMP TABLE scratch (id int)")
        assert cursor.description is None
        cursor.execute("INSERT INTO scratch VALUES (1)")
        assert cursor.description is None


def test_a_description_keeps_describing_its_own_result(database_url: str) -> None:
    with _connect(database_url) as connection:
        cursor = LazyDescriptionCursor(connection)
        cursor.execute(MIXED)
        first = cursor.description
        cursor.execute("SELECT 'y' AS other")
        assert first is not None
        assert [column.name for column in first] == [
            "one", "label", "amount", "at", "raw", "nothing", "list"
        ]  # fmt: skip
        assert [column.name for column in cursor.description or []] == ["other"]


def test_the_engines_connections_use_it(database_url: str) -> None:
    engine: Engine = postgresql_engine(database_url, 5.0)
    try:
        with engine.connect() as connection:
            driver = connection.connection.dbapi_connection
            assert isinstance(driver, psycopg.Connection)
            assert issubclass(driver.cursor_factory, LazyDescriptionCursor)
            for _ in range(3):  # the first run reads the columns, later ones reuse them
                row = connection.execute(text("SELECT 1 AS one, 'two' AS two")).mappings().one()
                assert dict(row) == {"one": 1, "two": "two"}
    finally:
        engine.dispose()
