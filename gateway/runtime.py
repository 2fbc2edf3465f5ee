"""The long-lived parts one gateway process shares across requests.

Built once by the app factory (or a CLI command) and handed to routers via
``request.app.state.runtime``; capabilities add their services here as they
land, so tests can build a real runtime against a real database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from gateway.audit.log import AuditLog
from gateway.audit.signer import KeyStoreSigner
from gateway.audit.wiring import build_audit_log, build_pseudonymizer
from gateway.keys import KeyStore, KeyStoreError
from gateway.policy import PolicyHolder
from gateway.settings import Settings
from gateway.storage.db import Database, DatabaseUnavailable
from gateway.storage.migrate import is_current
from gateway.subjects.bsn import Pseudonymizer


class NotReady(RuntimeError):
    """A dependency the gateway needs to serve safely is missing."""


@dataclass
class Runtime:
    settings: Settings
    db: Database
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings, db=Database(settings.sqlalchemy_url, timeout_s=settings.db_timeout_s)
        )

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log; its secrets load on first use, ``start()`` is the app's job."""
        return build_audit_log(self.settings, self.db, KeyStoreSigner(lambda: self.keys))

    @cached_property
    def keys(self) -> KeyStore:
        """The gateway's signing keys (``token`` and ``audit``) under ``key_dir/gateway``."""
        return KeyStore.from_settings(self.settings)

    @cached_property
    def policy(self) -> PolicyHolder:
        """The covenants in force; read ``policy.current`` once per request."""
        return PolicyHolder(self.settings.policy_dir, require_keys=not self.settings.dev_mode)

    @cached_property
    def pseudonymizer(self) -> Pseudonymizer:
        """BSN -> pseudonym under ``key_dir/gateway/pseudonym.key`` (promise 10)."""
        return build_pseudonymizer(self.settings)

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

    def close(self) -> None:
        if "audit" in self.__dict__:
            self.audit.stop()
        self.db.dispose()
