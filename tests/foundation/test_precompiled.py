"""``Precompiled``: the same rows, parameters, events and errors as SQLAlchemy's own execution.

Each statement runs both ways on the same connection (SQLite and PostgreSQL)
and must give equal rows: values through the column types' result processors
(aware UTC moments, dates, bytes, booleans), parameters through their bind
processors, names for attribute access.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from gateway.storage.db import Database
from gateway.storage.precompiled import Precompiled, execute_many, run_together
from gateway.storage.types import UtcDateTime
from tests.support.pg_wire import wire_round_trips

_META = MetaData()
_THINGS = Table(
    "precompiled_things",
    _META,
    Column("id", String(20), primary_key=True),
    Column("moment", UtcDateTime, nullable=False),
    Column("day", Date, nullable=True),
    Column("blob", LargeBinary, nullable=True),
    Column("count", Integer, nullable=False),
    Column("flag", Boolean, nullable=False),
)
_BY_OWNER = select(
    _THINGS.c.id,
    _THINGS.c.moment,
    _THINGS.c.day,
    _THINGS.c.blob,
    _THINGS.c.count.label("how_many"),
    _THINGS.c.flag,
).where(
    _THINGS.c.id.like(bindparam("prefix")),
    _THINGS.c.moment > bindparam("after"),
    _THINGS.c.flag == True,  # noqa: E712 - a constant bound parameter with a value
)
_BUMP = (
    update(_THINGS)
    .where(_THINGS.c.id == bindparam("key"))
    .values(count=_THINGS.c.count + bindparam("by"), moment=bindparam("now"))
    .returning(_THINGS.c.count, _THINGS.c.moment)
)
_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    database = Database(migrated_url)
    _META.create_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(
            _THINGS.insert(),
            [
                {
                    "id": f"a-{n}",
                    "moment": _NOON + timedelta(minutes=n),
                    "day": date(2026, 1, n + 1) if n % 2 else None,
                    "blob": bytes([n, 0, 255]) if n % 3 else None,
                    "count": n,
                    "flag": n != 2,
                }
                for n in range(5)
            ],
        )
    try:
        yield database
    finally:
        _META.drop_all(database.engine)
        database.dispose()


def _both(connection: Connection, statement: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    return Precompiled(statement).all(connection, params), connection.execute(
        statement, params
    ).all()


def test_rows_equal_sqlalchemys_with_processed_values_and_names(database: Database) -> None:
    with database.engine.connect() as connection:
        params = {"prefix": "a-%", "after": _NOON}
        ours, theirs = _both(connection, _BY_OWNER, params)
        assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
        assert len(ours) == 3  # a-1, a-3, a-4: after noon and flagged
        for row, reference in zip(ours, theirs, strict=True):
            assert row.moment.tzinfo is not None  # UtcDateTime's own processor ran
            assert row.how_many == reference.how_many
            assert row.blob == reference.blob
            assert row.day == reference.day
        assert any(isinstance(row.day, date) for row in ours)
        assert any(isinstance(row.blob, bytes) for row in ours)


def test_update_returning_and_scalar(database: Database) -> None:
    later = _NOON + timedelta(days=1)
    with database.engine.connect() as connection:
        bumped = Precompiled(_BUMP).all(connection, {"key": "a-3", "by": 10, "now": later})
        assert [tuple(row) for row in bumped] == [(13, later)]
        assert Precompiled(_BUMP).scalar(connection, {"key": "none", "by": 1, "now": later}) is None
        connection.commit()
        stored = connection.execute(
            select(_THINGS.c.count, _THINGS.c.moment).where(_THINGS.c.id == "a-3")
        ).one()
        assert tuple(stored) == (13, later)


def test_a_missing_parameter_is_refused_as_sqlalchemy_refuses_it(database: Database) -> None:
    with database.engine.connect() as connection, pytest.raises(SQLAlchemyError):
        Precompiled(_BY_OWNER).all(connection, {"prefix": "a-%"})


def test_cursor_execute_listeners_see_every_statement(database: Database) -> None:
    seen: list[tuple[str, Any, str]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append(("before", parameters, statement))

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append(("after", parameters, statement))

    statement = Precompiled(_BY_OWNER)
    event.listen(database.engine, "before_cursor_execute", before)
    event.listen(database.engine, "after_cursor_execute", after)
    try:
        with database.engine.connect() as connection:
            statement.all(connection, {"prefix": "a-%", "after": _NOON})
            connection.execute(_BY_OWNER, {"prefix": "a-%", "after": _NOON})
    finally:
        event.remove(database.engine, "before_cursor_execute", before)
        event.remove(database.engine, "after_cursor_execute", after)
    assert [kind for kind, _, _ in seen] == ["before", "after", "before", "after"]
    # The same SQL and the same driver parameters as SQLAlchemy's own execution.
    assert seen[0][1:] == seen[2][1:]


def test_a_driver_error_is_sqlalchemys_error_without_the_parameters(database: Database) -> None:
    statement = Precompiled(_BY_OWNER)
    secret = "a-999999990-%"
    with database.engine.connect() as connection:
        statement.all(connection, {"prefix": "a-%", "after": _NOON})  # compiled, read once
        connection.rollback()
        _THINGS.drop(connection)
        with pytest.raises(DBAPIError) as raised:
            statement.all(connection, {"prefix": secret, "after": _NOON})
        assert "999999990" not in str(raised.value)
        connection.rollback()
        _THINGS.create(connection, checkfirst=True)  # PostgreSQL rolled the drop back
        connection.commit()


def test_a_lost_connection_is_invalidated(database: Database) -> None:
    if not database.is_postgresql:
        pytest.skip("a server that ends the connection: PostgreSQL")
    statement = Precompiled(_BY_OWNER)
    with database.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        connection.rollback()
        with database.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            statement.all(connection, {"prefix": "a-%", "after": _NOON})
        assert raised.value.connection_invalidated
        assert connection.invalidated


def test_execution_options_take_sqlalchemys_own_path(database: Database) -> None:
    with database.engine.connect() as plain:
        expected = [
            tuple(r) for r in Precompiled(_BY_OWNER).all(plain, {"prefix": "a-%", "after": _NOON})
        ]
    with database.engine.connect().execution_options(logging_token="x") as optioned:
        rows = Precompiled(_BY_OWNER).all(optioned, {"prefix": "a-%", "after": _NOON})
    assert [tuple(r) for r in rows] == expected


def test_expanding_parameters_are_refused(database: Database) -> None:
    expanding = Precompiled(
        select(_THINGS.c.id).where(_THINGS.c.id.in_(bindparam("ids", expanding=True)))
    )
    with database.engine.connect() as connection, pytest.raises(ValueError, match="expanding"):
        expanding.all(connection, {"ids": ["a-1"]})


def test_a_parameter_named_like_a_column_sets_it_as_sqlalchemy_does(database: Database) -> None:
    with database.engine.connect() as connection:
        params = {"key": "a-1", "by": 1, "now": _NOON, "flag": False}
        assert [tuple(r) for r in Precompiled(_BUMP).all(connection, params)] == [(2, _NOON)]
        flag = connection.execute(select(_THINGS.c.flag).where(_THINGS.c.id == "a-1")).scalar()
        assert flag is False


# -- run_together: independent reads in one round trip (gateway/storage/reads.py) ----------

_ONE = select(_THINGS.c.id, _THINGS.c.count).where(_THINGS.c.id == bindparam("key"))
_AS_NUMBER = select(_THINGS.c.id).where(_THINGS.c.count == func.cast(bindparam("n"), Integer))


def _together_calls() -> list[tuple[Precompiled, dict[str, Any]]]:
    return [
        (Precompiled(_BY_OWNER), {"prefix": "a-%", "after": _NOON}),
        (Precompiled(_ONE), {"key": "a-3"}),
        (Precompiled(_ONE.where(_THINGS.c.flag == True)), {"key": "none"}),  # noqa: E712
    ]


def test_run_together_gives_each_statement_its_own_rows_in_one_round_trip(
    database: Database,
) -> None:
    calls = _together_calls()
    with database.engine.connect() as connection:
        alone = [precompiled.all(connection, params) for precompiled, params in calls]
    # Seven times: psycopg prepares a statement on its fifth run, in the same pipeline.
    for _ in range(7):
        counted = wire_round_trips(database.engine) if database.is_postgresql else nullcontext()
        with counted as wire, database.engine.connect() as connection:
            together = run_together(connection, calls)
        assert [[tuple(r) for r in rows] for rows in together] == [
            [tuple(r) for r in rows] for rows in alone
        ]
        assert together[1][0].count == 3  # names as with all()
        if wire is not None:
            # BEGIN and the three reads; the pool's ROLLBACK on return (and psycopg's
            # DEALLOCATE ALL after it, once it prepared something on this connection).
            assert wire.round_trips - wire.sent.count('"DEALLOCATE ALL"') == 2, wire.sent


def test_run_together_listeners_see_every_statement(database: Database) -> None:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", before)
    try:
        with database.engine.connect() as connection:
            run_together(connection, _together_calls())
    finally:
        event.remove(database.engine, "before_cursor_execute", before)
    assert len(seen) == 3


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_run_together_is_wrapped_and_the_transaction_ends(
    database: Database, failing: int
) -> None:
    calls: list[tuple[Precompiled, dict[str, Any]]] = [
        (Precompiled(_ONE), {"key": "a-1"}),
        (Precompiled(_ONE), {"key": "a-2"}),
    ]
    calls[failing] = (Precompiled(_AS_NUMBER), {"n": "not a number"})
    with database.engine.connect() as connection:
        if database.is_postgresql:
            with pytest.raises(DBAPIError) as raised:
                run_together(connection, calls)
            assert "parameters hidden" in str(raised.value)  # as for any statement
            connection.rollback()
        else:  # SQLite compares the text as it is: no error to raise
            run_together(connection, calls)
        rows = run_together(connection, _together_calls())  # the connection serves on
        assert len(rows[0]) == 3


def test_a_lost_connection_run_together_is_invalidated(database: Database) -> None:
    if not database.is_postgresql:
        pytest.skip("PostgreSQL's connections")
    with database.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with database.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            run_together(connection, _together_calls())
        assert raised.value.connection_invalidated


def test_the_same_query_twice_runs_one_by_one(database: Database) -> None:
    """psycopg's PrepareManager would prepare it twice under two names in one pipeline."""
    calls = [(Precompiled(_ONE), {"key": "a-1"}), (Precompiled(_ONE), {"key": "a-2"})]
    counted = wire_round_trips(database.engine) if database.is_postgresql else nullcontext()
    with counted as wire, database.engine.connect() as connection:
        rows = run_together(connection, calls)
    assert [[tuple(r) for r in found] for found in rows] == [[("a-1", 1)], [("a-2", 2)]]
    if wire is not None:
        # Two statements, the pool's ROLLBACK (and psycopg's DEALLOCATE ALL after it,
        # once it prepared something on this connection).
        assert wire.round_trips - wire.sent.count('"DEALLOCATE ALL"') == 3, wire.sent


def _sample(bind: Any) -> Any:
    """A value of the parameter's Python type, for comparing what the driver is given."""
    try:
        kind = getattr(bind.type, "impl_instance", bind.type).python_type
    except NotImplementedError:
        return "x"
    samples = {datetime: _NOON, date: date(2026, 12, 1), int: 3, bool: True, bytes: b"k"}
    return samples.get(kind, "x")


def _gateway_statements() -> list[Precompiled]:
    """Every constant statement the gateway compiles at import (the query path's)."""
    import gc

    import gateway.audit.store
    import gateway.audit.subject_keys
    import gateway.cases.service
    import gateway.consent.service
    import gateway.consent.withholdings
    import gateway.rights.contested
    import gateway.rights.objections  # noqa: F401 - imported for their statements

    found = [o for o in gc.get_objects() if type(o) is Precompiled]
    modules = {type(o.statement).__module__ for o in found}
    assert len(found) >= 9, modules
    return found


def test_the_bind_plan_gives_the_driver_what_construct_params_gives(database: Database) -> None:
    """Every gateway statement and the ones above: the same driver parameters, by key or by
    bind name, with constants left out; a parameter with a callable value or a missing one
    goes to ``construct_params`` itself."""
    dialect = database.engine.dialect
    statements = [*_gateway_statements(), Precompiled(_BY_OWNER), Precompiled(_BUMP)]
    for precompiled in statements:
        form = precompiled._form(dialect)
        assert form.plan is not None, precompiled.statement
        given = {bind.key: _sample(bind) for bind in form.compiled.bind_names if bind.required}
        assert form.parameters(given, dialect) == form.constructed(given, dialect)
        by_name = {
            form.compiled.bind_names[b]: v
            for b, v in ((b, given[b.key]) for b in form.compiled.bind_names if b.key in given)
        }
        assert form.parameters(by_name, dialect) == form.constructed(by_name, dialect)
        if given:
            with pytest.raises(SQLAlchemyError):
                form.parameters({}, dialect)
    called = Precompiled(
        select(_THINGS.c.id).where(_THINGS.c.count == bindparam("n", callable_=lambda: 4))
    )
    form = called._form(dialect)
    assert form.plan is None
    assert form.parameters({}, dialect) == form.constructed({}, dialect)
    with database.engine.connect() as connection:
        assert [tuple(r) for r in called.all(connection, {})] == [("a-4",)]


def _insert_sql(database: Database) -> str:
    marks = ", ".join(["?" if not database.is_postgresql else "%s"] * 4)
    return f"INSERT INTO precompiled_things (id, moment, count, flag) VALUES ({marks})"


def _new_rows(database: Database, *ids: str) -> list[tuple[Any, ...]]:
    moment: Any = _NOON if database.is_postgresql else _NOON.strftime("%Y-%m-%d %H:%M:%S.%f")
    return [(key, moment, 7, True) for key in ids]


def test_execute_many_inserts_as_exec_driver_sql_and_listeners_see_it(database: Database) -> None:
    seen: list[tuple[Any, bool]] = []

    def before(_c: Any, _cur: Any, _sql: str, parameters: Any, _ctx: Any, many: bool) -> None:
        seen.append((parameters, many))

    event.listen(database.engine, "before_cursor_execute", before)
    try:
        with database.engine.connect() as connection:
            execute_many(connection, _insert_sql(database), _new_rows(database, "m-1", "m-2"))
            connection.exec_driver_sql(_insert_sql(database), _new_rows(database, "m-3", "m-4"))
            connection.commit()
    finally:
        event.remove(database.engine, "before_cursor_execute", before)
    assert [many for _, many in seen] == [True, True]
    assert [len(parameters) for parameters, _ in seen] == [2, 2]
    with database.engine.connect() as connection:
        stored = connection.execute(
            select(_THINGS.c.id, _THINGS.c.moment, _THINGS.c.count)
            .where(_THINGS.c.id.like("m-%"))
            .order_by(_THINGS.c.id)
        ).all()
    assert [tuple(row) for row in stored] == [(f"m-{n}", _NOON, 7) for n in range(1, 5)]


def test_execute_many_without_listeners_runs_on_the_driver_in_the_transaction(
    database: Database,
) -> None:
    with database.engine.connect() as connection:
        execute_many(connection, _insert_sql(database), _new_rows(database, "t-1"))
        assert connection.in_transaction()
        connection.rollback()  # the insert was in the connection's transaction
        assert (
            connection.execute(select(func.count()).where(_THINGS.c.id == "t-1")).scalar_one() == 0
        )


def test_execute_many_fails_as_sqlalchemy_without_the_parameters(database: Database) -> None:
    with database.engine.connect() as connection:
        with pytest.raises(IntegrityError) as raised:
            execute_many(connection, _insert_sql(database), _new_rows(database, "999999990", "a-1"))
        assert "999999990" not in str(raised.value)
        connection.rollback()
        execute_many(connection, _insert_sql(database), _new_rows(database, "d-1"))
        connection.commit()
