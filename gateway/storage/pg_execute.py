"""A psycopg cursor whose ``execute`` takes the short road, and sends ``BEGIN`` with the statement.

psycopg's ``Cursor.execute`` is general: it converts the query text on every
call, builds a new :class:`~psycopg.adapt.Transformer` (whose dumper and
loader caches start empty) for every query a cursor has not just run, and
walks a stack of generators for a statement that needs one round trip. That
was ~60 Python calls per statement, nine statements per brokered query
(issue 16). And before the first statement of a transaction it sends
``BEGIN`` as a round trip of its own: two per brokered query (the plan's
transaction and the audit writer's), ~110 µs of gateway CPU each.

:class:`LeanCursor` does the same work for the statements SQLAlchemy sends
(a ``str`` with parameters, text results, no pipeline of the caller's):

* the converted query (placeholders, parameter order) and a Transformer per
  query are kept per connection, so a repeated statement only dumps its
  parameters. A Transformer serves one cursor at a time: it holds the result
  being read, so a cursor takes it and gives it back when it is closed or
  runs its next statement; a second cursor running the same query meanwhile
  gets a new one;
* prepared statements follow psycopg's own :class:`PrepareManager` (same
  threshold, names, eviction and invalidation), so the server sees the same
  ``Parse``/``Bind`` as before. After a failed round trip the manager holds
  the names the server holds: a named statement the server parsed outlives
  any error after it (even a rollback), so every statement the server ran is
  booked before an error is raised (one psycopg forgets because it failed its
  first run is deallocated at the next maintenance), and one it skipped or
  whose ``Parse`` failed is not (:func:`_book`);
* when the connection is idle outside a transaction (and not autocommit),
  ``BEGIN`` (exactly psycopg's, with the isolation level it was given) and
  the statement go in one pipeline with one ``Sync``: one round trip. The
  server runs them as before — ``BEGIN`` opens the transaction, the
  statement runs in it, an error in it leaves the transaction failed, and
  ``statement_timeout`` times each separately — and the error raised is the
  statement's own. A statement psycopg would prepare now is folded the same
  way (``Parse`` in the same round trip instead of one before it).

Two more ways to save a round trip, both asked for by the caller:

* ``COMMIT`` with the transaction's last statement
  (:mod:`gateway.storage.commit_ahead` sets :data:`AHEAD` on the connection):
  the statement and ``COMMIT`` in one pipeline; the statement's error, else
  ``COMMIT``'s, is raised, and until the connection's ``commit()`` or
  ``rollback()`` nothing more is sent on it by any path: ``execute`` refuses
  here (the lean path sends before it waits), every other (``executemany``,
  ``copy``, ``stream``, a server-side cursor, ``transaction()``,
  ``pipeline()``, two-phase commit, another cursor class) in
  :meth:`~gateway.storage.pg_deadlines.DeadlineConnection.wait`, which each
  passes through before it sends;
* independent statements on several cursors in one pipeline
  (:func:`execute_together`, for :mod:`gateway.storage.reads`).

Anything else (no parameters, which psycopg sends by the simple protocol
that allows several statements; ``prepare=``/``binary=``; a pipeline the
caller opened; a ``sql.Composable``; a very long query) goes through
psycopg's own ``execute`` unchanged. Every wait still goes through the
connection's :meth:`~gateway.storage.pg_deadlines.DeadlineConnection.wait`,
so the deadline on a frozen server is the same.

This leans on psycopg's cursor internals (``_results``, ``_rowcount``,
``_tx`` …) as of psycopg 3.3; ``tests/foundation/test_pg_execute.py`` holds
the cursor's observable state equal to psycopg's for the same statements.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from functools import partial
from operator import itemgetter
from typing import Any
from weakref import ref

import psycopg
from psycopg import errors as e
from psycopg import pq
from psycopg._preparing import Prepare, PrepareManager
from psycopg._queries import PostgresQuery, _query2pg
from psycopg.abc import Buffer
from psycopg.abc import Transformer as AnyTransformer
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.generators import execute, fetch_many, send
from psycopg.rows import tuple_row

from gateway.storage.pg_cursor import LazyDescriptionCursor

_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
_PIPELINE_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_TEXT = pq.Format.TEXT
_IDLE = pq.TransactionStatus.IDLE
_GOOD = (_TUPLES_OK, _COMMAND_OK, pq.ExecStatus.EMPTY_QUERY, pq.ExecStatus.COPY_BOTH)
_NOT_PREPARED = (Prepare.NO, b"")
# libpq 14+ (psycopg's binary wheels bundle a newer one); without it psycopg's execute runs.
_PIPELINES = psycopg.Pipeline.is_supported()

# The connection attribute that asks for ``COMMIT`` with the next statement
# (gateway/storage/commit_ahead.py), and what it holds then and after.
AHEAD = "_ketenpoort_ahead"
COMMIT_NEXT = "commit with the next statement"
ENDED = "committed with its last statement"
REFUSED = "the transaction was committed with its last statement; end it first"

# The cursor state psycopg 3.3 keeps (its ``__slots__``): what :meth:`LeanCursor.fresh`
# sets or leaves for ``execute`` to set. Another set means another psycopg inside.
_CURSOR_STATE = frozenset(
    {
        "__weakref__",
        "_adapters",
        "_closed",
        "_conn",
        "_execmany_returning",
        "_iresult",
        "_last_query",
        "_make_row",
        "_pgconn",
        "_pos",
        "_query",
        "_results",
        "_row_factory",
        "_rowcount",
        "_statusmessage",
        "_tx",
        "arraysize",
        "format",
        "pgresult",
    }
)


def _internals_match() -> bool:
    """psycopg's private names this module uses exist, and its cursor holds exactly the
    state :meth:`LeanCursor.fresh` sets.

    Several are only reached on an error or a rare path (``_NO_TRACEBACK`` when a
    statement fails): a rename would turn a database error into an ``AttributeError``
    while every answered query still passes. So they are checked once, here, and
    without a match the engine keeps psycopg's own cursor (gateway/storage/pg_deadlines.py).
    """
    state: set[str] = set()
    for klass in psycopg.Cursor.__mro__:
        slots = getattr(klass, "__slots__", ())
        state.update((slots,) if isinstance(slots, str) else slots)
    manager = PrepareManager()
    return (
        state == _CURSOR_STATE
        and isinstance(getattr(e, "_NO_TRACEBACK", None), tuple)
        and callable(getattr(psycopg.Connection, "_get_tx_start_command", None))
        and callable(getattr(psycopg.Cursor, "_raise_for_result", None))
        and callable(getattr(psycopg.Cursor, "_make_row_maker", None))
        and hasattr(manager, "_names")
        and hasattr(manager, "_to_flush")
    )


INTERNALS_MATCH = _internals_match()

# psycopg's own limits for caching a converted query.
_MAX_QUERY_LENGTH = 4096
_MAX_PARAMS = 50
# Distinct statements kept per connection; the query path has a few dozen.
_MAX_ENTRIES = 256


class _Statement:
    """One query text as converted for one connection, and its spare Transformer."""

    __slots__ = ("encoding", "formats", "getter", "nparams", "pgq", "query", "spare")

    def __init__(self, connection: psycopg.Connection[Any], query: str) -> None:
        tx = Transformer(connection)
        self.encoding = tx.encoding
        pgq = PostgresQuery(tx)
        self.query, self.formats, order, parts = _query2pg(query.encode(tx.encoding), tx.encoding)
        pgq.query = self.query
        self.pgq = pgq  # what psycopg's PrepareManager reads: query and types
        self.nparams = len(parts) - 1
        # Named placeholders: the values in order, in one C call; positional: as given.
        self.getter: Callable[[Mapping[str, Any]], Any] | None
        if order is None:
            self.getter = None
        elif len(order) == 1:
            single = itemgetter(order[0])
            self.getter = lambda params: (single(params),)
        else:
            self.getter = itemgetter(*order)
        self.spare: AnyTransformer | None = tx


def _pipelined(pgconn: pq.abc.PGconn, sets: int) -> Generator[Any, Any, list[list[Any]]]:
    """Flush a pipeline and read its ``sets`` result sets and the ``Sync`` that ends it."""
    yield from send(pgconn)
    out = []
    for _ in range(sets + 1):
        out.append((yield from fetch_many(pgconn)))
    return out


def _prepared(manager: PrepareManager, pgq: PostgresQuery) -> tuple[Prepare, bytes]:
    """psycopg's ``PrepareManager.get``; for a statement already prepared, its
    ``maybe_add_to_cache`` too (which for one only moves it to the end)."""
    key = (pgq.query, pgq.types)
    name = manager._names.get(key)
    if name is not None:
        manager._names.move_to_end(key)
        return Prepare.YES, name
    if manager.prepare_threshold is None:
        return _NOT_PREPARED
    return manager.get(pgq)


def _left_pipeline(pgconn: pq.abc.PGconn) -> bool:
    """Leave pipeline mode; where results are left unread (after a failure) the
    protocol state is unknown, so the connection is closed (and leaves the pool)."""
    try:
        pgconn.exit_pipeline_mode()
    except psycopg.Error:
        pgconn.finish()
        return False
    return True


def _in_one_round_trip(
    conn: psycopg.Connection[Any],
    query: bytes,
    dumped: Sequence[Buffer | None] | None,
    formats: Sequence[pq.Format] | None,
    types: Sequence[int],
    prep: Prepare,
    name: bytes,
    *,
    begin: bool,
    commit: bool = False,
) -> tuple[list[Any], psycopg.Error | None]:
    """``BEGIN`` and/or ``Parse``, the statement and/or ``COMMIT`` in one pipeline, one
    ``Sync``: the statement's results, and ``COMMIT``'s error if it failed.

    An error of ``BEGIN`` or ``Parse`` is raised as it is (the statement after it
    was skipped by the server, and nothing was prepared); the statement's own
    results are returned to be checked as any statement's (a failed statement
    aborts the pipeline: the server skips the ``COMMIT`` and the transaction is
    left failed, to be rolled back as before). A failed ``COMMIT`` ended the
    transaction on the server (rolled back); its error is returned for the caller
    to raise once the statement's prepared-statement bookkeeping is done (a
    ``Parse`` before it stands), so nothing that follows the statement can take
    it for committed.
    """
    pgconn = conn.pgconn
    pgconn.enter_pipeline_mode()
    try:
        sets = 1
        if begin:
            pgconn.send_query_params(conn._get_tx_start_command(), None)
            sets += 1
        if prep is Prepare.SHOULD:
            pgconn.send_prepare(name, query, param_types=types)
            sets += 1
        if prep is Prepare.NO:
            pgconn.send_query_params(query, dumped, param_formats=formats, param_types=types)
        else:
            pgconn.send_query_prepared(name, dumped, param_formats=formats)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
            sets += 1
        pgconn.pipeline_sync()
        answered = conn.wait(_pipelined(pgconn, sets))
    finally:
        stuck = pgconn.pipeline_status != pq.PipelineStatus.OFF and not _left_pipeline(pgconn)
    if stuck:
        raise e.OperationalError("the connection could not leave pipeline mode; it was closed")
    statement = sets - 2 if commit else sets - 1
    for earlier in answered[:statement]:
        for result in earlier:
            if result.status == _FATAL_ERROR:
                raise e.error_from_result(result, encoding=pgconn._encoding)
    if commit:
        for result in answered[statement]:
            if result.status not in _GOOD:
                return answered[statement], None  # the statement's own error, raised by the caller
        ended = answered[statement + 1]
        for result in ended:
            if result.status == _FATAL_ERROR:
                return answered[statement], e.error_from_result(result, encoding=pgconn._encoding)
        # A transaction that had failed before answers COMMIT with ROLLBACK.
        if [result.command_status for result in ended] != [b"COMMIT"]:
            return answered[statement], e.OperationalError("the transaction was not committed")
    return answered[statement], None


def _book(
    manager: PrepareManager, pgq: PostgresQuery, prep: Prepare, name: bytes, results: list[Any]
) -> None:
    """psycopg's prepared-statement bookkeeping for a statement the server ran (after its
    ``Parse``, where one was sent, succeeded), whatever its outcome.

    psycopg forgets a statement that failed the first time it ran (``validate``), but
    the server keeps what it parsed, through any error or rollback: that name is
    deallocated at the next maintenance (psycopg's own ``_to_flush``), so the
    manager's names stay the server's.
    """
    if prep is Prepare.YES or manager.prepare_threshold is None:
        return
    key = manager.maybe_add_to_cache(pgq, prep, name)
    if key is None:
        return
    manager.validate(key, prep, name, results)
    if prep is Prepare.SHOULD and manager._names.get(key) != name and None not in manager._to_flush:
        manager._to_flush.append(name)


class LeanCursor(LazyDescriptionCursor):
    """A client-side cursor with the short ``execute`` described above."""

    _statement: _Statement | None = None

    @classmethod
    def fresh(cls, conn: psycopg.Connection[Any]) -> LeanCursor:
        """What ``conn.cursor()`` returns, in one call instead of eight.

        The state psycopg's ``Cursor.__init__`` sets, except the cursor's own
        adapters map: it is made when first asked for (:attr:`adapters`), so
        that a statement that needs none dumps and loads with the connection's.
        """
        cursor = cls.__new__(cls)
        cursor._conn = conn
        cursor.format = _TEXT
        cursor._pgconn = conn.pgconn
        cursor._adapters = None  # type: ignore[assignment]
        cursor.arraysize = 1
        cursor._closed = False
        cursor._last_query = cursor._query = cursor.pgresult = None
        cursor._statusmessage = cursor._execmany_returning = None
        cursor._results = []
        cursor._pos = cursor._iresult = 0
        cursor._rowcount = -1
        cursor._row_factory = conn.row_factory
        return cursor

    @property
    def adapters(self) -> AdaptersMap:
        adapters = self._adapters
        if adapters is None:
            # As psycopg's Cursor.__init__ makes it.
            adapters = self._adapters = AdaptersMap(self._conn.adapters)
            adapters._register_loader_callback = partial(self._loaders_changed, ref(self))
        return adapters

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> LeanCursor:
        if self._statement is not None:
            self._give_back()
        conn = self._conn
        if getattr(conn, AHEAD, None) is ENDED:
            # Here, as the lean path sends before it waits; psycopg's others wait
            # first, and DeadlineConnection.wait refuses there.
            raise e.ProgrammingError(REFUSED)
        lean = (
            self._lean(conn, query, params)
            if prepare is None and binary is None and params
            else None
        )
        if lean is None:
            return super().execute(query, params, prepare=prepare, binary=binary)
        statement, values = lean
        try:
            with conn.lock:
                self._run(conn, conn.pgconn, statement, values, query)
        except e._NO_TRACEBACK as ex:
            raise ex.with_traceback(None) from None
        return self

    def _lean(
        self, conn: psycopg.Connection[Any], query: Any, params: Any
    ) -> tuple[_Statement, Sequence[Any]] | None:
        """The converted statement and the values in order, or ``None`` for psycopg's execute."""
        if (
            not _PIPELINES
            or self._adapters is not None
            or type(query) is not str
            or conn._pipeline is not None
            or self._closed
            or self.format != _TEXT
            or len(query) > _MAX_QUERY_LENGTH
            or len(params) > _MAX_PARAMS
        ):
            return None
        pgconn = self._pgconn
        cache: dict[str, _Statement] | None = getattr(conn, "_ketenpoort_statements", None)
        if cache is None:
            cache = conn._ketenpoort_statements = {}
        statement = cache.get(query)
        if statement is None or statement.encoding != pgconn._encoding:
            if len(cache) >= _MAX_ENTRIES:
                cache.clear()
            statement = cache[query] = _Statement(conn, query)
        getter = statement.getter
        if type(params) is dict:
            if getter is None:
                return None
            try:
                values = getter(params)
            except KeyError:
                return None  # psycopg names the missing one
        elif (type(params) is tuple or type(params) is list) and getter is None:
            values = params
            if len(values) != statement.nparams:
                return None
        else:
            return None
        if statement.nparams == 0:
            return None  # psycopg sends it by the simple protocol
        return statement, values

    def _run(
        self,
        conn: psycopg.Connection[Any],
        pgconn: pq.abc.PGconn,
        statement: _Statement,
        values: Sequence[Any],
        query: str,
    ) -> None:
        if pgconn.status != pq.ConnStatus.OK:
            conn._check_connection_ok()
        sending = self._dump(conn, statement, values, query)
        autocommit = conn._autocommit
        begin = not autocommit and pgconn.transaction_status == _IDLE
        dumped, types, formats, prep, name = sending
        if not autocommit and getattr(conn, AHEAD, None) is COMMIT_NEXT:
            try:
                results, not_committed = _in_one_round_trip(
                    conn,
                    statement.query,
                    dumped,
                    formats,
                    types,
                    prep,
                    name,
                    begin=begin,
                    commit=True,
                )
                _book(conn._prepared, statement.pgq, prep, name, results)
                if not_committed is not None:
                    raise not_committed
                self._take(results)
                if conn._prepared._to_flush:
                    conn.wait(conn._prepared.maintain_gen(conn))
            finally:
                # From here on (whatever the outcome) nothing more runs on the
                # connection: the caller's commit or rollback ends it (DeadlineConnection).
                setattr(conn, AHEAD, ENDED)
            return
        if not begin and prep is not Prepare.SHOULD:
            if prep is Prepare.NO:
                pgconn.send_query_params(
                    statement.query, dumped, param_formats=formats, param_types=types
                )
            else:
                pgconn.send_query_prepared(name, dumped, param_formats=formats)
            results = conn.wait(execute(pgconn))
        else:
            results = _in_one_round_trip(
                conn, statement.query, dumped, formats, types, prep, name, begin=begin
            )[0]
        if prep is not Prepare.YES:
            _book(conn._prepared, statement.pgq, prep, name, results)
        self._take(results)
        if conn._prepared._to_flush:
            conn.wait(conn._prepared.maintain_gen(conn))

    def _dump(
        self,
        conn: psycopg.Connection[Any],
        statement: _Statement,
        values: Sequence[Any],
        query: str,
    ) -> tuple[
        Sequence[Buffer | None] | None, Sequence[int], Sequence[pq.Format] | None, Prepare, bytes
    ]:
        """Take a Transformer, reset the cursor's state, dump the parameters: what to send."""
        tx = statement.spare
        if tx is None:
            tx = Transformer(conn)
        else:
            statement.spare = None
        # The state psycopg's _reset() starts a statement from, and this one's.
        self._statement = statement
        self._tx = tx
        self._last_query = query
        self.pgresult = None
        self._results = []
        self._pos = self._iresult = 0
        self._rowcount = -1
        self._statusmessage = self._execmany_returning = self._query = None
        dumped = tx.dump_sequence(values, statement.formats)
        pgq = statement.pgq
        pgq.types = types = tx.types or ()
        prep, name = _prepared(conn._prepared, pgq)
        return dumped, types, tx.formats, prep, name

    def _take(self, results: list[Any]) -> None:
        """The statement's results, as psycopg takes them (after :func:`_book`): its
        error raised, or the cursor set to its first result."""
        if not results:
            raise e.InternalError("got no result from the query")
        for result in results:
            if result.status not in _GOOD:
                self._raise_for_result(result)
        # psycopg's _set_results() and _select_current_result(0).
        self._results = results
        result = self.pgresult = results[0]
        self._tx.set_pgresult(result)
        if result.status == _TUPLES_OK:
            self._rowcount = result.ntuples
        else:
            rows = result.command_tuples
            self._rowcount = rows if rows is not None else -1
        self._statusmessage = result.command_status
        # tuple_row() returns ``tuple`` itself (psycopg's C code fast-paths on it).
        self._make_row = tuple if self._row_factory is tuple_row else self._make_row_maker()

    def _give_back(self) -> None:
        """Return the Transformer taken for the last statement to its query's spare slot."""
        statement = self._statement
        if statement is not None:
            self._statement = None
            self._last_query = None  # psycopg's own path must not reuse it either
            tx = self._tx
            tx.set_pgresult(None)
            if statement.spare is None:
                statement.spare = tx

    def close(self) -> None:
        if self._statement is not None:
            self._give_back()
        # psycopg's Cursor.close(): _close() and its _reset(reset_query=False), inline.
        self._results = []
        self.pgresult = self._statusmessage = self._execmany_returning = None
        self._pos = self._iresult = 0
        self._rowcount = -1
        self._closed = True

    def fetchone(self) -> Any:
        result = self.pgresult
        if self._closed or result is None or result.status != _TUPLES_OK:
            return super().fetchone()  # its errors, and a pipeline's pending result
        position = self._pos
        if position < result.ntuples:
            self._pos = position + 1
            return self._tx.load_row(position, self._make_row)
        return None

    def fetchall(self) -> list[Any]:
        result = self.pgresult
        if self._closed or result is None or result.status != _TUPLES_OK:
            return super().fetchall()
        records = self._tx.load_rows(self._pos, result.ntuples, self._make_row)
        self._pos = result.ntuples
        return records


def execute_together(
    conn: psycopg.Connection[Any], calls: Sequence[tuple[LeanCursor, str, Any]]
) -> None:
    """Each cursor runs its query, all of them in one pipeline with one ``Sync``: one round trip.

    For reads that do not depend on each other. ``BEGIN`` (where the connection is
    idle outside a transaction) and psycopg's ``Parse`` of a statement it prepares
    go in the same round trip, as in :meth:`LeanCursor.execute`. The server runs
    the statements in order, in the transaction; the first that fails leaves the
    transaction failed, the server skips the rest, and its error is raised as its
    own ``execute`` would raise it. Where any of them would take psycopg's own
    ``execute`` (or the transaction's ``COMMIT`` is asked to ride with the next
    statement, or a query comes twice) they run one by one instead.
    """
    leans = []
    # The same query twice would be prepared twice under two names (psycopg's
    # PrepareManager counts a run only once it answered): those run one by one.
    if getattr(conn, AHEAD, None) is None and len({query for _, query, _ in calls}) == len(calls):
        for cursor, query, params in calls:
            if cursor._statement is not None:
                cursor._give_back()
            lean = cursor._lean(conn, query, params) if params else None
            if lean is None:
                break
            leans.append(lean)
    if len(leans) < len(calls):
        for cursor, query, params in calls:
            cursor.execute(query, params)
        return
    try:
        with conn.lock:
            _run_together(conn, calls, leans)
    except e._NO_TRACEBACK as ex:
        raise ex.with_traceback(None) from None


def _run_together(
    conn: psycopg.Connection[Any],
    calls: Sequence[tuple[LeanCursor, str, Any]],
    leans: Sequence[tuple[_Statement, Sequence[Any]]],
) -> None:
    pgconn = conn.pgconn
    if pgconn.status != pq.ConnStatus.OK:
        conn._check_connection_ok()
    sending = [
        cursor._dump(conn, statement, values, query)
        for (cursor, query, _), (statement, values) in zip(calls, leans, strict=True)
    ]
    begin = not conn._autocommit and pgconn.transaction_status == _IDLE
    pgconn.enter_pipeline_mode()
    try:
        sets: list[tuple[str, int]] = []  # what each result set answers, in order
        if begin:
            pgconn.send_query_params(conn._get_tx_start_command(), None)
            sets.append(("begin", -1))
        for i, ((statement, _), (dumped, types, formats, prep, name)) in enumerate(
            zip(leans, sending, strict=True)
        ):
            if prep is Prepare.SHOULD:
                pgconn.send_prepare(name, statement.query, param_types=types)
                sets.append(("parse", i))
            if prep is Prepare.NO:
                pgconn.send_query_params(
                    statement.query, dumped, param_formats=formats, param_types=types
                )
            else:
                pgconn.send_query_prepared(name, dumped, param_formats=formats)
            sets.append(("statement", i))
        pgconn.pipeline_sync()
        answered = conn.wait(_pipelined(pgconn, len(sets)))
    finally:
        stuck = pgconn.pipeline_status != pq.PipelineStatus.OFF and not _left_pipeline(pgconn)
    if stuck:
        raise e.OperationalError("the connection could not leave pipeline mode; it was closed")
    parsed: list[list[Any] | None] = [None] * len(calls)
    statements: list[list[Any]] = [[] for _ in calls]
    for (kind, i), results in zip(sets, answered, strict=False):
        if kind == "begin":
            for result in results:
                if result.status == _FATAL_ERROR:  # nothing after it ran
                    raise e.error_from_result(result, encoding=pgconn._encoding)
        elif kind == "parse":
            parsed[i] = results
        else:
            statements[i] = results
    # The bookkeeping of every statement the server ran, failed or not, before any
    # error is raised. One it skipped (after a failure: its own Parse's or an
    # earlier statement's) is left out: its Parse, if any, prepared nothing.
    manager = conn._prepared
    for (statement, _), (_, _, _, prep, name), results in zip(
        leans, sending, statements, strict=True
    ):
        if prep is not Prepare.YES and all(r.status != _PIPELINE_ABORTED for r in results):
            _book(manager, statement.pgq, prep, name, results)
    # In order: the first failure raises its error (a Parse's, or the statement's
    # own as its execute would raise it); the server skipped all after it.
    for (cursor, _, _), parse, results in zip(calls, parsed, statements, strict=True):
        for result in parse or ():
            if result.status == _FATAL_ERROR:
                raise e.error_from_result(result, encoding=pgconn._encoding)
        cursor._take(results)
    if manager._to_flush:
        conn.wait(manager.maintain_gen(conn))
