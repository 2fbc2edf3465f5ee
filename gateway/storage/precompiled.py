"""Constant Core statements compiled once per dialect and run on the driver's cursor.

The statements a brokered query runs on every call (the case, verzet, consents,
data keys, correcties, withholdings) are built once at import with bound
parameters. SQLAlchemy caches their compiled form, but each execution still
walks its whole execution pipeline: the compiled-cache lookup, an execution
context (cursor, ``pre_exec``/``post_exec``, result set-up), a
``CursorResult`` with its metadata and fetch strategy, then ``Row`` objects:
~35 Python calls per statement before any row is read, ~10 statements per
query (issue 16). :class:`Precompiled` keeps what that pipeline computes once
per compiled form (the SQL string, the parameter order, the bind and result
processors) and per execution does only what it must: the same parameters the
pipeline would build, ``cursor.execute``, ``fetchall``, the result processors.

Kept as SQLAlchemy does it, on the same :class:`~sqlalchemy.engine.Connection`
(its transaction, its pooled driver connection, its locks):

* ``before_cursor_execute``/``after_cursor_execute`` listeners see every
  statement with its SQL and driver parameters (their ``context`` is ``None``,
  which the event's contract allows); ``tests/brokering/test_query_budget.py``
  counts statements that way;
* a driver error goes through ``Connection._handle_dbapi_exception``: the same
  wrapped :class:`~sqlalchemy.exc.DBAPIError` (so the same fail-closed 503s),
  ``handle_error`` hooks, and invalidation of a connection that was lost;
* parameters are what the compiled form's own ``construct_params`` and bind
  processors make (a value given by the parameter's key, else by its bind name,
  else the statement's constant; a required one missing goes to
  ``construct_params``, which refuses it), from a plan worked out once per form
  (:func:`_bind_plan`; a parameter with a callable value or a compiled form
  with values collected from its elements or post-compiled parameters asks ``construct_params``);
  values read pass the column types' result processors.

What this does not handle falls back to ``connection.execute``, whole: a
statement with post-compile (expanding) parameters or Python-side defaults is
refused when compiled here, and a connection with logging (``echo``),
execution options or ``do_execute`` hooks runs the statement through
SQLAlchemy, as do dialects that bind with ``setinputsizes``.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any]
_DIALECTS = 8
_REQUIRED: Any = object()  # a plan's constant for a parameter the caller must give

# Per bound parameter, in the order the driver takes them: (the name the driver
# sees, the parameter's key, its bind name, its bind processor, its constant).
_Bind = tuple[str, str, str, _Processor | None, Any]


def _bind_plan(compiled: SQLCompiler) -> tuple[_Bind, ...] | None:
    """What ``construct_params`` does per parameter, worked out once (issue 16).

    ``construct_params`` walks every bound parameter of the statement on each
    call, asking for each whether it is required, has a callable, is escaped
    (~130 bytecodes a statement). For a statement whose parameters are all
    plain (a constant value, or one the caller gives), that walk always comes
    out the same, so it is done here once. ``None`` when it does not: a
    callable value, or a compiled form that collects or post-compiles its
    parameters; those keep asking ``construct_params``.
    """
    if getattr(compiled, "_collected_params", None) or compiled._render_postcompile:
        return None  # values the statement's elements carry (``.params()``), or expanding
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    names = list(compiled.positiontup or ()) if compiled.positional else list(by_name)
    escaped = compiled.escaped_bind_names
    processors: Mapping[str, _Processor] = compiled._bind_processors  # type: ignore[assignment]
    plan: list[_Bind] = []
    for name in names:
        bind = by_name.get(name)
        if bind is None or bind.callable is not None:
            return None
        constant = _REQUIRED if bind.required else bind.value
        plan.append((escaped.get(name, name), bind.key, name, processors.get(name), constant))
    return tuple(plan)


class _Form:
    """What executing one statement needs on one dialect, worked out once."""

    __slots__ = (
        "columns",
        "compiled",
        "keys",
        "make",
        "plan",
        "positional",
        "processors",
        "result_types",
        "sql",
    )

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        if not isinstance(statement, ClauseElement):
            raise TypeError("Precompiled takes SQL statements")
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError("Precompiled takes SQL statements")
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Precompiled takes no expanding or literal-execute parameters")
        if compiled.insert_prefetch or compiled.update_prefetch or compiled.schema_translate_map:
            raise ValueError("Precompiled takes no Python-side defaults or schema translation")
        self.compiled = compiled
        self.sql = compiled.string
        self.positional = compiled.positional
        self.keys = tuple(compiled.positiontup or ()) if compiled.positional else ()
        self.processors: Mapping[str, _Processor] = dict(compiled._bind_processors)  # type: ignore[arg-type]
        self.plan = _bind_plan(compiled)
        self.result_types = [column[3] for column in compiled._result_columns]
        names = [column[0] for column in compiled._result_columns]
        row = namedtuple("Row", names, rename=True) if names else tuple
        self.make: Callable[[Sequence[Any]], Any] = partial(tuple.__new__, row)
        # SQLAlchemy adds ``SET column = :column`` to an UPDATE (or a value to an
        # INSERT) for a parameter named like a column of its table: such calls go
        # through its own execution, which compiles for them.
        target = (
            getattr(statement, "table", None) if compiled.isupdate or compiled.isinsert else None
        )
        self.columns = frozenset(target.c.keys()) if target is not None else frozenset()

    def parameters(self, params: Mapping[str, Any], dialect: Dialect) -> Any:
        """What SQLAlchemy's execution context would pass to ``cursor.execute``."""
        plan = self.plan
        if plan is None:
            return self.constructed(params, dialect)
        values: list[Any] = []
        for _, key, name, processor, constant in plan:
            if key in params:
                value = params[key]
            elif name in params:
                value = params[name]
            elif constant is _REQUIRED:
                return self.constructed(params, dialect)  # which refuses it, as SQLAlchemy does
            else:
                value = constant
            values.append(value if processor is None else processor(value))
        if self.positional:
            return dialect.execute_sequence_format(values)
        return {bind[0]: value for bind, value in zip(plan, values, strict=True)}

    def constructed(self, params: Mapping[str, Any], dialect: Dialect) -> Any:
        """:meth:`parameters` by ``construct_params`` itself (and the reference for it)."""
        values = self.compiled.construct_params(params, escape_names=False)
        assert values is not None
        processors = self.processors
        if self.positional:
            return dialect.execute_sequence_format(
                [
                    processors[key](values[key]) if key in processors else values[key]
                    for key in self.keys
                ]
            )
        escaped = self.compiled.escaped_bind_names
        return {
            escaped.get(key, key): processors[key](value) if key in processors else value
            for key, value in values.items()
        }


class _Reader:
    """Rows as tuples with the statement's column names, values through the result
    processors the column types give for the driver's column types (worked out on the
    first execution, from its cursor description, as SQLAlchemy does)."""

    __slots__ = ("convert",)

    def __init__(self, form: _Form, description: Sequence[Any] | None, dialect: Dialect) -> None:
        processors: list[tuple[int, _Processor]] = []
        for index, type_ in enumerate(form.result_types):
            coltype = description[index][1] if description is not None else None
            processor = type_._cached_result_processor(dialect, coltype)
            if processor is not None:
                processors.append((index, processor))
        make = form.make
        if not processors:
            self.convert: Callable[[list[Any]], list[Any]] = partial(_plain, make)
        else:
            self.convert = partial(_processed, make, tuple(processors))


def _plain(make: Callable[[Sequence[Any]], Any], rows: list[Any]) -> list[Any]:
    return list(map(make, rows))


def _processed(
    make: Callable[[Sequence[Any]], Any],
    processors: tuple[tuple[int, _Processor], ...],
    rows: list[Any],
) -> list[Any]:
    """Column by column: each processed column mapped through its processor."""
    if not rows:
        return []
    columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
    for index, processor in processors:
        columns[index] = map(processor, columns[index])
    return list(map(make, zip(*columns, strict=True)))


class Precompiled:
    """A constant Core statement, executed without SQLAlchemy's per-call pipeline.

    Rows are tuples with attribute access by column name (like ``Row``).
    """

    __slots__ = ("_forms", "_lock", "_readers", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[Dialect, _Form] = {}
        self._readers: dict[Dialect, _Reader] = {}
        self._lock = threading.Lock()

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row the statement returns."""
        return self._run(connection, params)

    def scalar(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or ``None`` without rows."""
        rows = self._run(connection, params)
        return rows[0][0] if rows else None

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            with self._lock:
                form = self._forms.get(dialect) or _Form(self.statement, dialect)
                if len(self._forms) >= _DIALECTS:  # one engine in a process; tests make many
                    self._forms.clear()
                    self._readers.clear()
                self._forms[dialect] = form
        return form

    def _rows(self, dialect: Dialect, form: _Form, description: Any, rows: list[Any]) -> list[Any]:
        reader = self._readers.get(dialect)
        if reader is None:
            reader = self._readers[dialect] = _Reader(form, description, dialect)
        return reader.convert(rows)

    def _run(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        dialect = connection.dialect
        if (  # _driver_ready(), inline: this runs for every statement of a query
            connection._echo
            or connection._execution_options
            or (dialect._has_events and dialect.dispatch.do_execute)
            or dialect.bind_typing is BindTyping.SETINPUTSIZES
        ):
            return list(connection.execute(self.statement, params).all())
        form = self._form(dialect)
        if form.columns and not form.columns.isdisjoint(params):
            return list(connection.execute(self.statement, params).all())
        if connection._transaction is None:
            connection._autobegin()
        fairy = connection._dbapi_connection
        if fairy is None:
            fairy = connection.connection  # revalidates, or raises as execute would
        sql = form.sql
        parameters: Any = None
        cursor: Any = None
        try:
            parameters = form.parameters(params, dialect)
            cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
            events = connection._has_events or connection.engine._has_events
            if events:
                for before in connection.dispatch.before_cursor_execute:
                    sql, parameters = before(connection, cursor, sql, parameters, None, False)
            cursor.execute(sql, parameters)
            description, rows = _fetched(connection, cursor, sql, parameters, events=events)
        except BaseException as error:  # noqa: BLE001 - as SQLAlchemy: wrapped, or re-raised as is
            connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        reader = self._readers.get(dialect)
        if reader is None:
            reader = self._readers[dialect] = _Reader(form, description, dialect)
        return reader.convert(rows)


def _fetched(
    connection: Connection, cursor: Any, sql: str, parameters: Any, *, events: bool
) -> tuple[Any, list[Any]]:
    """After a statement ran: the listeners told, its description and rows, the cursor closed."""
    if events:
        connection.dispatch.after_cursor_execute(connection, cursor, sql, parameters, None, False)
    description = cursor.description
    rows = cursor.fetchall() if description is not None else []
    cursor.close()
    return description, rows


def _driver_ready(connection: Connection) -> bool:
    """No logging, execution options, ``do_execute`` hooks or ``setinputsizes`` binding:
    what :class:`Precompiled` runs on the driver's cursor itself."""
    dialect = connection.dialect
    return not (
        connection._echo
        or connection._execution_options
        or (dialect._has_events and dialect.dispatch.do_execute)
        or dialect.bind_typing is BindTyping.SETINPUTSIZES
    )


def _begun(connection: Connection) -> Any:
    """The connection's pooled driver connection, its transaction begun as execute begins it."""
    if connection._transaction is None:
        connection._autobegin()
    fairy = connection._dbapi_connection
    if fairy is None:
        fairy = connection.connection  # revalidates, or raises as execute would
    return fairy


def execute_many(connection: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``connection.exec_driver_sql(sql, rows)`` for an ``INSERT`` of many rows, on the
    driver's cursor: one ``executemany`` without SQLAlchemy's execution context and
    result (~30 Python calls, ~1,200 bytecodes per insert; the audit writer's two inserts
    per batch on SQLite, issue 16).

    As :class:`Precompiled` runs a statement: on the connection's transaction (begun as
    ``execute`` begins it), listeners told before and after (``executemany`` true), a
    driver error wrapped and a lost connection invalidated by SQLAlchemy itself; a
    connection with logging, execution options or ``do_execute`` hooks goes through
    ``exec_driver_sql``. ``rows`` are what the driver takes (already converted).
    """
    dialect = connection.dialect
    if (  # _driver_ready() and _begun(), inline as in Precompiled._run
        connection._echo
        or connection._execution_options
        or (dialect._has_events and dialect.dispatch.do_execute)
        or dialect.bind_typing is BindTyping.SETINPUTSIZES
    ):
        connection.exec_driver_sql(sql, list(rows))
        return
    if connection._transaction is None:
        connection._autobegin()
    fairy = connection._dbapi_connection
    if fairy is None:
        fairy = connection.connection  # revalidates, or raises as execute would
    parameters: Any = rows
    cursor: Any = None
    try:
        cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
        events = connection._has_events or connection.engine._has_events
        if events:
            for before in connection.dispatch.before_cursor_execute:
                sql, parameters = before(connection, cursor, sql, parameters, None, True)
        cursor.executemany(sql, parameters)
        if events:
            connection.dispatch.after_cursor_execute(
                connection, cursor, sql, parameters, None, True
            )
        cursor.close()
    except BaseException as error:  # noqa: BLE001 - as SQLAlchemy: wrapped, or re-raised as is
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)


def run_together(
    connection: Connection, calls: Sequence[tuple[Precompiled, Mapping[str, Any]]]
) -> list[list[Any]]:
    """Each statement's rows, as :meth:`Precompiled.all` returns them, for reads that do
    not depend on each other: on our PostgreSQL engine all in one round trip
    (``DeadlineConnection.execute_together``), elsewhere one after the other.

    Listeners see each statement as with ``all``; a driver error is wrapped as
    SQLAlchemy wraps it (the same fail-closed 503s; a lost connection invalidated).
    """
    dialect = connection.dialect
    forms = [precompiled._form(dialect) for precompiled, _ in calls]
    if (
        len(calls) < 2
        or not _driver_ready(connection)
        or any(
            form.columns and not form.columns.isdisjoint(params)
            for form, (_, params) in zip(forms, calls, strict=True)
        )
    ):
        return [precompiled.all(connection, params) for precompiled, params in calls]
    fairy = _begun(connection)
    driver = fairy.dbapi_connection
    together = getattr(driver, "execute_together", None)
    if together is None:
        return [precompiled.all(connection, params) for precompiled, params in calls]
    sent: list[tuple[Any, str, Any]] = []
    events = connection._has_events or connection.engine._has_events
    results: list[tuple[Any, list[Any]]] = []
    try:
        for form, (_, params) in zip(forms, calls, strict=True):
            sql = form.sql
            parameters = form.parameters(params, dialect)
            cursor = driver.cursor()
            if events:
                for before in connection.dispatch.before_cursor_execute:
                    sql, parameters = before(connection, cursor, sql, parameters, None, False)
            sent.append((cursor, sql, parameters))
        together(sent)
        results = [
            _fetched(connection, cursor, sql, parameters, events=events)
            for cursor, sql, parameters in sent
        ]
    except BaseException as error:  # noqa: BLE001 - as SQLAlchemy: wrapped, or re-raised as is
        for cursor, _, _ in sent[:-1]:
            cursor.close()
        last = sent[-1] if sent else (None, "", None)
        statements = ";\n".join(sql for _, sql, _ in sent)
        connection._handle_dbapi_exception(error, statements, last[2], last[0], None)
    return [
        precompiled._rows(dialect, form, description, rows)
        for (precompiled, _), form, (description, rows) in zip(calls, forms, results, strict=True)
    ]
