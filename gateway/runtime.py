"""The long-lived parts one gateway process shares across requests.

Built once by the app factory (or a CLI command) and handed to routers via
``request.app.state.runtime``; capabilities add their services here as they
land, so tests can build a real runtime against a real database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from gateway.settings import Settings
from gateway.storage.db import Database, DatabaseUnavailable
from gateway.storage.migrate import is_current


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
        checks["key_store"] = "ok"
        return checks

    def close(self) -> None:
        self.db.dispose()
