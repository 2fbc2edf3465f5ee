"""Per-subject data keys in the database, wrapped by the master key (promise 7).

A key exists per (pseudonym, scope, case): scope ``case`` and
``strafrechtelijk`` per case, ``subject`` once per person (case ``""``). Keys
are only created inside an append transaction that holds the log's head lock,
so two writers can never race to create the same key.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey
from gateway.audit.vault import DataKey
from gateway.storage.connection_of import connection_of
from gateway.storage.pg_arrays import TextArray
from gateway.storage.precompiled import Precompiled
from gateway.subjects.bsn import random_id

KeySpec = tuple[str, str, str]
"""(subject pseudonym, scope, case id or "" for scope ``subject``)."""


_KEYS = cast(Table, AuditDataKey.__table__)
# The per-append statements, built once (Core, compiled form cached by SQLAlchemy).
# Several keys at once go to the driver as one list parameter: an expanding IN
# re-rendered the statement with a bind per key on every batch (~0.5 ms for 40 keys).
_STAMP_LIVE_PG = (
    "UPDATE audit_data_keys SET last_used_at = %s"
    " WHERE key_id = ANY(%b::text[]) AND wrapped IS NOT NULL RETURNING key_id"
)
_STAMP_LIVE_SQLITE = (
    "UPDATE audit_data_keys SET last_used_at = ?"
    " WHERE key_id IN (SELECT value FROM json_each(?)) AND wrapped IS NOT NULL RETURNING key_id"
)
_WRAPPED = select(_KEYS.c.key_id, _KEYS.c.wrapped).where(
    _KEYS.c.key_id.in_(bindparam("ids", expanding=True))
)
# The same for one key (a query's usual case): no post-compile of an expanding list.
_STAMP_ONE = Precompiled(
    update(_KEYS)
    .where(_KEYS.c.key_id == bindparam("id"), _KEYS.c.wrapped.is_not(None))
    .values(last_used_at=bindparam("now"))
    .returning(_KEYS.c.key_id)
)
_WRAPPED_ONE = Precompiled(
    select(_KEYS.c.key_id, _KEYS.c.wrapped).where(_KEYS.c.key_id == bindparam("id"))
)
CACHE_SIZE = 50_000


def _stamp_live(connection: Connection, ids: list[str], now: datetime) -> list[Any]:
    """Mark the live keys among ``ids`` used ``now``; their ids (erased ones are not)."""
    dialect = connection.dialect
    moment = _bind_moment(dialect)(now)
    if dialect.name == "postgresql":
        result = connection.exec_driver_sql(_STAMP_LIVE_PG, (moment, TextArray(ids)))
    else:
        result = connection.exec_driver_sql(_STAMP_LIVE_SQLITE, (moment, json.dumps(ids)))
    return list(result)


@functools.lru_cache(maxsize=8)
def _bind_moment(dialect: Dialect) -> Callable[[Any], Any]:
    """``last_used_at``'s own conversion on ``dialect`` (SQLite's text form, UTC)."""
    processor = _KEYS.c.last_used_at.type._cached_bind_processor(dialect)
    return processor if processor is not None else _same


def _same(value: Any) -> Any:
    return value


def _ids(keys: Mapping[KeySpec, DataKey]) -> list[str]:
    return [key.key_id for key in keys.values()]


def new_key_id() -> str:
    return random_id("dk-", 16)


class SubjectVault:
    """Finds, creates and opens subject data keys; the master key is read on first need."""

    def __init__(self, master_key: Callable[[], bytes]) -> None:
        self._load_master = master_key
        self._master: bytes | None = None
        self._lock = threading.Lock()
        self._cache: dict[KeySpec, DataKey] = {}

    def master(self) -> bytes:
        with self._lock:
            if self._master is None:
                self._master = self._load_master()
            return self._master

    def keys_for(
        self, session: Session, specs: Iterable[KeySpec], now: datetime
    ) -> dict[KeySpec, DataKey]:
        """The live key for each spec, creating the missing ones; marks them used ``now``.

        Unwrapped keys are cached, but every use re-checks in the same
        transaction that the key was not erased meanwhile (by any instance):
        the ``UPDATE ... RETURNING`` that stamps ``last_used_at`` only returns
        live keys, so no entry is ever sealed under, or indexed to, a shredded key.
        """
        wanted = set(specs)
        if not wanted:
            return {}
        found: dict[KeySpec, DataKey] = {}
        cached = {spec: self._cache[spec] for spec in wanted if spec in self._cache}
        if cached:
            ids = [key.key_id for key in cached.values()]
            connection = connection_of(session)
            stamped: Iterable[Any]
            if len(ids) == 1:
                stamped = _STAMP_ONE.all(connection, {"id": ids[0], "now": now})
            else:
                stamped = _stamp_live(connection, ids, now)
            live = {row[0] for row in stamped}
            for spec, key in cached.items():
                if key.key_id in live:
                    found[spec] = key
                else:
                    self._cache.pop(spec, None)
        uncached = wanted - found.keys()
        if uncached:
            found.update(self._load_or_create(session, uncached, now))
        if len(self._cache) > CACHE_SIZE:
            self._cache.clear()
        self._cache.update(found)
        return found

    def _load_or_create(
        self, session: Session, wanted: set[KeySpec], now: datetime
    ) -> dict[KeySpec, DataKey]:
        master = self.master()
        found: dict[KeySpec, DataKey] = {}
        rows = session.execute(
            select(
                AuditDataKey.key_id,
                AuditDataKey.subject_pseudonym,
                AuditDataKey.scope,
                AuditDataKey.case_id,
                AuditDataKey.wrapped,
            ).where(AuditDataKey.subject_pseudonym.in_({spec[0] for spec in wanted}))
        )
        for key_id, pseudonym, scope, case_id, wrapped in rows:
            if pseudonym is None or wrapped is None:
                continue
            spec = (pseudonym, scope, case_id)
            if spec in wanted:
                found[spec] = DataKey.unwrap(master, key_id, wrapped)
        if found:
            # The read above took no lock: an erasure may have shredded a key since
            # (on PostgreSQL this waits for it). Only the keys this stamp returns are
            # live; an entry is never sealed under, or indexed to, the others: a new
            # key is made for their spec below, as for a person erased before.
            live = {row[0] for row in _stamp_live(connection_of(session), _ids(found), now)}
            found = {spec: key for spec, key in found.items() if key.key_id in live}
        new_rows = []
        for spec in wanted - found.keys():
            key = DataKey.generate(new_key_id())
            found[spec] = key
            new_rows.append(
                {
                    "key_id": key.key_id,
                    "subject_pseudonym": spec[0],
                    "scope": spec[1],
                    "case_id": spec[2],
                    "wrapped": key.wrap(master),
                    "created_at": now,
                    "last_used_at": now,
                    "erased_at": None,
                }
            )
        if new_rows:
            session.execute(insert(AuditDataKey), new_rows)
        return found

    def open_keys(self, session: Session, key_ids: Iterable[str]) -> Mapping[str, DataKey | None]:
        """Each key id's data key, or ``None`` when it was erased (or never existed)."""
        ids = sorted(set(key_ids))
        if not ids:
            return {}
        connection = connection_of(session)
        rows: Iterable[Any]
        if len(ids) == 1:
            rows = _WRAPPED_ONE.all(connection, {"id": ids[0]})
        else:
            rows = connection.execute(_WRAPPED, {"ids": ids})
        wrapped_by_id: dict[str, str | None] = {key_id: wrapped for key_id, wrapped in rows}
        master = self.master()
        opened: dict[str, DataKey | None] = {}
        for key_id in ids:
            wrapped = wrapped_by_id.get(key_id)
            if wrapped is None:
                opened[key_id] = None
                continue
            opened[key_id] = DataKey.unwrap(master, key_id, wrapped)
        return opened
