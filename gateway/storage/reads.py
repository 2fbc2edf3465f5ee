"""Independent reads of several services in one round trip, each service keeping its SQL.

The plan of a brokered query reads the verzet and the consent standing of the
case it just loaded: two statements that do not depend on each other, one
network round trip each on PostgreSQL (~110 µs of gateway CPU each, issue 16).
A service describes such a read as a :class:`Read` (its constant statement, the
parameters, and what the rows mean); the caller runs several with
:func:`read_together`, which sends them in one pipeline on PostgreSQL
(:func:`~gateway.storage.precompiled.run_together`) and one after the other on
SQLite, and gives each its own answer. What a service's ``finish`` reads further
(a second statement that only some rows need) runs after, as it did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.storage.connection_of import connection_of
from gateway.storage.precompiled import Precompiled, run_together

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """One constant statement, its parameters, and its answer made from its rows."""

    statement: Precompiled
    params: Mapping[str, Any]
    finish: Callable[[Connection, list[Any]], T]


def read(session: Session, one: Read[T]) -> T:
    """One read on its own."""
    connection = connection_of(session)
    return one.finish(connection, one.statement.all(connection, one.params))


def read_together(session: Session, *reads: Read[Any] | None) -> list[Any]:
    """Each read's answer (``None`` for ``None``), the statements sent together."""
    wanted = [one for one in reads if one is not None]
    connection = connection_of(session)
    rows = run_together(connection, [(one.statement, one.params) for one in wanted])
    answers = iter([one.finish(connection, found) for one, found in zip(wanted, rows, strict=True)])
    return [None if one is None else next(answers) for one in reads]
