"""The composition root: every long-lived part of one gateway process, built once.

Built by the app factory, a CLI command or a test from :class:`Settings`, and
handed to routes through one FastAPI dependency (:func:`gateway.wiring.http.runtime_of`),
to background jobs and the CLI as the object itself. Each part is typed and
built on first use, under one lock, exactly once per runtime: the foundations
load their secrets lazily, so an app can start (and report not-ready) without
them; the services are assembled in :mod:`gateway.wiring.parts`, the only
module that knows how the capabilities fit together. There is no registry of
untyped extras and no capability builds another's objects.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from gateway.audit.desk import AuditReadDesk
from gateway.audit.log import AuditLog, AuditUnavailable
from gateway.audit.signer import KeyStoreSigner
from gateway.brokering.refusal_log import RefusalLog
from gateway.cases.desk import CaseDesk
from gateway.cases.refusals import RefusalAggregate
from gateway.consent.desk import ConsentDesk
from gateway.grounds.desk import GroundDesk
from gateway.grounds.service import GroundService
from gateway.keys import KeyStore, KeyStoreError
from gateway.policy import PolicyHolder
from gateway.reports.desk import ReportDesk
from gateway.reports.oversight import OversightDesk
from gateway.retention.runner import RetentionRunner
from gateway.retention.source_desk import SourceDesk
from gateway.rights.desk import RightsDesk
from gateway.rights.overdue import OverdueRegister
from gateway.rights.peer_outcomes import PeerOutcomes
from gateway.settings import Settings
from gateway.storage.db import Database, DatabaseUnavailable
from gateway.storage.migrate import is_current
from gateway.subjects.bsn import Pseudonymizer
from gateway.wiring.audit_log import build_audit_log, build_pseudonymizer
from gateway.wiring.parts import (
    AuthServices,
    BrokeringServices,
    FederationServices,
    Foundations,
    build_auth,
    build_brokering,
    build_consent_desk,
    build_federation,
    build_peer_outcomes,
    build_retention_runner,
    build_rights_desk,
)

log = logging.getLogger("ketenpoort.runtime")

T = TypeVar("T")


class NotReady(RuntimeError):
    """A dependency the gateway needs to serve safely is missing."""


class part(Generic[T]):  # noqa: N801 - used like ``cached_property``
    """A part built on first use under the runtime's lock, then kept: once per runtime.

    Unlike ``functools.cached_property`` (which lost its lock in Python 3.12),
    two threads asking at once get one object, so one HTTP client and one
    throttle per process.
    """

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> part[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> T | part[T]:
        if instance is None:
            return self
        store = instance.__dict__
        with instance._lock:  # type: ignore[attr-defined]
            if self._name not in store:
                store[self._name] = self._build(instance)
            value: T = store[self._name]
            return value


# Parts built on the broker's HTTP client: dropped together when it is closed.
SQLITE_OFFLOAD_THREADS = 4
"""Worker threads on SQLite: measured under 16 clients (docs/performance.md)."""
POSTGRESQL_OFFLOAD_THREADS = 8
"""Below the pool's 10 connections (gateway/storage/pg_deadlines.py), with room for the
audit writer and the checkpointer: more threads opened and closed overflow connections."""

_ON_CLIENT = (
    "brokering",
    "case_desk",
    "ground_desk",
    "consent_desk",
    "rights_desk",
    "federation",
    "peer_outcomes",
    "retention",
)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    _lock: threading.RLock = field(
        default_factory=threading.RLock, init=False, repr=False, compare=False
    )

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings, db=Database(settings.sqlalchemy_url, timeout_s=settings.db_timeout_s)
        )

    def offload_threads(self) -> int:
        """Blocking jobs run at once (:func:`gateway.offload.set_steady_threads`).

        On SQLite a statement's every step lets go of the GIL, so more threads than
        cores only pass it around; on PostgreSQL a thread mostly waits on the server,
        and each needs a pooled connection.
        """
        if self.settings.offload_threads is not None:
            return self.settings.offload_threads
        return POSTGRESQL_OFFLOAD_THREADS if self.db.is_postgresql else SQLITE_OFFLOAD_THREADS

    # -- foundations ------------------------------------------------------------

    @part
    def keys(self) -> KeyStore:
        """The gateway's signing keys (``token`` and ``audit``) under ``key_dir/gateway``."""
        return KeyStore.from_settings(self.settings)

    @part
    def audit(self) -> AuditLog:
        """The audit log; its secrets load on first use, ``start()`` is the app's job."""
        return build_audit_log(self.settings, self.db, KeyStoreSigner(lambda: self.keys))

    @part
    def policy(self) -> PolicyHolder:
        """The covenants in force; read ``policy.current`` once per request."""
        dev = self.settings.dev_mode
        return PolicyHolder(self.settings.policy_dir, require_keys=not dev, dev_mode=dev)

    @part
    def pseudonymizer(self) -> Pseudonymizer:
        """BSN -> pseudonym under ``key_dir/gateway/pseudonym.key`` (promise 10)."""
        return build_pseudonymizer(self.settings)

    @part
    def foundations(self) -> Foundations:
        return Foundations(self.settings, self.db, self.keys, self.policy, self.audit)

    # -- services -----------------------------------------------------------------

    @part
    def audit_desk(self) -> AuditReadDesk:
        """Checkpoints, proofs and the officer's search, for the API and /privacy."""
        return AuditReadDesk(self.audit, lambda: self.pseudonymizer)

    @part
    def auth(self) -> AuthServices:
        """One per process: the token throttle and the JWKS cache live as long as it."""
        return build_auth(self.foundations)

    @part
    def brokering(self) -> BrokeringServices:
        return build_brokering(self.foundations, self.pseudonymizer, self.auth)

    @part
    def consent_desk(self) -> ConsentDesk:
        return build_consent_desk(self.foundations, self.brokering)

    @part
    def rights_desk(self) -> RightsDesk:
        return build_rights_desk(self.foundations, self.pseudonymizer, self.auth, self.brokering)

    @part
    def federation(self) -> FederationServices:
        return build_federation(
            self.foundations, self.pseudonymizer, self.brokering, self.rights_desk
        )

    @part
    def peer_outcomes(self) -> PeerOutcomes:
        """Pulls peer regions' outcomes of forwarded correcties/verzetten (background job)."""
        return build_peer_outcomes(self.foundations, self.pseudonymizer, self.brokering.registry)

    @part
    def source_desk(self) -> SourceDesk:
        """Deletions pushed by a source, with their entries in the same commit."""
        return SourceDesk(self.db, self.audit, self.foundations.current_policy())

    @part
    def overdue(self) -> OverdueRegister:
        """Overdue rights requests for /privacy and the gauge (needs no key file)."""
        return OverdueRegister(self.db)

    @part
    def refusals(self) -> RefusalAggregate:
        """Refused case calls counted per minute, shared by every request."""
        return RefusalAggregate()

    @part
    def ground_desk(self) -> GroundDesk:
        """Legal grounds per case and subject, on the broker's own case service."""
        policy = self.foundations.current_policy()
        return GroundDesk(self.db, GroundService(self.brokering.cases, policy), self.audit, policy)

    @part
    def report_desk(self) -> ReportDesk:
        """Report figures and the register for the stuurgroep and the privacy officer."""
        return ReportDesk(
            db=self.db,
            audit=self.audit,
            policy=self.foundations.current_policy(),
            threshold=self.settings.report_small_count,
        )

    @part
    def oversight_desk(self) -> OversightDesk:
        """The privacy officer's view of the whole covenant: case list, consent register."""
        return OversightDesk(self.db, self.audit, self.foundations.current_policy())

    @part
    def refusal_log(self) -> RefusalLog:
        """Writes a refused case call's (aggregated) denial entry before the problem is answered."""
        return RefusalLog(self.audit, self.refusals, self.foundations.current_policy())

    @part
    def case_desk(self) -> CaseDesk:
        """Cases on the broker's own case service; refusals logged like the API's."""
        return CaseDesk(
            self.db,
            self.brokering.cases,
            self.audit,
            self.foundations.current_policy(),
            self.refusal_log.guard,
        )

    @part
    def retention(self) -> RetentionRunner:
        """The background job's runner, polling deletion feeds through the broker's registry."""
        return build_retention_runner(self.foundations, self.brokering.registry)

    # -- lifecycle ------------------------------------------------------------------

    def readiness(self) -> dict[str, str]:
        """Each check's state; raises :class:`NotReady` naming the failing one."""
        checks: dict[str, str] = {}
        try:
            self.db.ping()
        except DatabaseUnavailable:
            raise NotReady("database") from None
        checks["database"] = "ok"
        if not is_current(self.db.engine):
            raise NotReady("schema")
        checks["schema"] = "ok"
        key_dir = self.settings.key_dir
        if not key_dir.is_dir() or not os.access(key_dir, os.R_OK | os.X_OK):
            raise NotReady("key_store")
        try:
            if not self.keys.records():  # `serve` creates them before listening
                raise NotReady("key_store")
            self.keys.check()
        except KeyStoreError:
            raise NotReady("key_store") from None
        checks["key_store"] = "ok"
        return checks

    def built(self, name: str) -> bool:
        """Whether a part has been built (shutdown flushes only what exists)."""
        return name in self.__dict__

    async def close_services(self) -> None:
        """At app shutdown: close the HTTP client, write the counts still held in memory.

        The parts on the closed client are dropped, so a runtime that serves
        another app afterwards (tests do) builds them afresh.
        """
        with self._lock:
            brokering = self.__dict__.get("brokering")
            for name in _ON_CLIENT:
                self.__dict__.pop(name, None)
        if isinstance(brokering, BrokeringServices):
            await brokering.aclose()
        if self.built("auth"):
            self.auth.denials.flush()
        self.flush_refusals()

    def flush_refusals(self) -> None:
        """Write the refused-call counts still held in memory (at shutdown)."""
        if not self.built("refusals"):
            return
        events = self.refusals.drain()
        if events:
            try:
                self.audit.append_sync(events)
            except AuditUnavailable:
                log.warning("audit log unavailable; %d refusal counts not written", len(events))

    def close(self) -> None:
        if self.built("audit"):
            self.audit.stop()
        self.db.dispose()
