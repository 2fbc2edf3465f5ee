"""RFC 7523 §3 item 7: a client assertion's ``jti`` is accepted once.

The record lives in the database, not in process memory, so a replay is caught
even when it reaches another gateway instance sharing the same PostgreSQL. The
primary key does the work: a second insert of the same (issuer, jti) fails,
whichever instance tries it, however close together.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.db import Database, DatabaseUnavailable
from gateway.storage.types import UtcDateTime

PURGE_EVERY_S = 60.0


class UsedAssertion(Base):
    """One accepted client assertion, kept until it could no longer be presented anyway."""

    __tablename__ = "auth_used_assertions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, index=True)


def assertion_key(issuer: str, jti: str) -> str:
    """Hashed so an arbitrary-length ``jti`` fits a fixed column; scoped per issuer."""
    return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()


class ReplayStore:
    def __init__(self, db: Database, *, leeway: timedelta = timedelta(seconds=60)) -> None:
        self._db = db
        self._leeway = leeway
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def first_use(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record the assertion; ``False`` when the same issuer already used this ``jti``."""
        self._purge_now_and_then()
        row = UsedAssertion(
            key=assertion_key(issuer, jti), party=issuer, expires_at=expires_at + self._leeway
        )
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            return False
        except SQLAlchemyError as error:
            raise DatabaseUnavailable(type(error).__name__) from None
        return True

    def _purge_now_and_then(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = now
        try:
            with self._db.session() as session:
                session.execute(
                    delete(UsedAssertion).where(UsedAssertion.expires_at < datetime.now(UTC))
                )
        except SQLAlchemyError as error:
            raise DatabaseUnavailable(type(error).__name__) from None
