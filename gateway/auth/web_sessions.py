"""Web sessions kept server-side: the cookie holds a random id, the database the rest, sealed.

In auth, below the pages and the API: the composition root gathers its table
without importing the web pages, and the API reads the same login.

Why not a signed cookie any more: whoever read the signing secret from the key
directory could mint a session for any role or person, and a copied cookie
stayed valid after logout. Now the cookie carries 256 random bits and nothing
else (no BSN, no roles); logout deletes the row, so a copied cookie dies with it.

Each row is found by ``HMAC(secret, "lookup" | id)`` and its data sealed with
AES-256-GCM under ``HMAC(secret, "seal" | id)``: the database alone reveals no
session id and no content (a /mijn login's BSN stays sealed), and the secret
alone opens nothing without a cookie. The secret lives in a key file sealed
with ``KETENPOORT_KEY_PASSPHRASE`` outside dev mode, like the vault key.
Times are epoch seconds; the idle limit counts from the last use (recorded at
most once a minute, to spare the database), the absolute one from creation.

A session nobody has logged in to yet (a login under way: OIDC state, the page
to return to) lives ``PENDING_LOGIN_S`` at most, and expired rows are purged
when sessions are created too, not only when a cookie is read: anyone can start
a login without a cookie, and each start writes a row (review-auth).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import BigInteger, LargeBinary, String, delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.db import Database, DatabaseUnavailable

log = logging.getLogger("ketenpoort.web.session")

TOUCH_EVERY_S = 60
PENDING_LOGIN_S = 900
PURGE_EVERY_S = 300
MAX_ID_CHARS = 100
_NONCE_BYTES = 12


class WebSession(Base):
    """One browser session; ``data`` is the sealed JSON of what the page code stores."""

    __tablename__ = "web_sessions"

    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seen_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)


@dataclass(frozen=True)
class Loaded:
    data: dict[str, Any]
    last_seen_at: int


class SessionStore:
    def __init__(
        self,
        db: Database,
        secret: bytes,
        *,
        idle_s: int,
        absolute_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must have at least 256 bits")
        self._db = db
        self._secret = secret
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def _derive(self, label: bytes, session_id: str) -> bytes:
        return hmac.new(
            self._secret, label + b"\x00" + session_id.encode(), hashlib.sha256
        ).digest()

    def _lookup(self, session_id: str) -> str:
        return self._derive(b"lookup", session_id).hex()

    def _seal(self, session_id: str, lookup: str, data: dict[str, Any]) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(data, separators=(",", ":")).encode()
        return nonce + AESGCM(self._derive(b"seal", session_id)).encrypt(
            nonce, plain, lookup.encode()
        )

    def _open(self, session_id: str, lookup: str, sealed: bytes) -> dict[str, Any] | None:
        try:
            plain = AESGCM(self._derive(b"seal", session_id)).decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], lookup.encode()
            )
            data = json.loads(plain)
        except (InvalidTag, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def load(self, session_id: str) -> Loaded | None:
        """The session's data if the id is known and within both lifetimes, else ``None``."""
        if not session_id or len(session_id) > MAX_ID_CHARS:
            return None
        self._purge_now_and_then()
        lookup = self._lookup(session_id)
        now = int(self._clock())
        try:
            with self._db.session() as session:
                row = session.get(WebSession, lookup)
                if row is None:
                    return None
                if row.expires_at <= now or row.last_seen_at + self.idle_s <= now:
                    session.delete(row)
                    return None
                data = self._open(session_id, lookup, row.data)
                last_seen = row.last_seen_at
        except SQLAlchemyError as error:
            raise DatabaseUnavailable(type(error).__name__) from None
        return None if data is None else Loaded(data, last_seen)

    def create(self, data: dict[str, Any], *, logged_in: bool = True) -> str:
        """Store ``data`` under a fresh random id; the id goes in the cookie, never in the row.

        ``logged_in=False`` (a login under way) caps the row at ``PENDING_LOGIN_S``;
        the login itself rotates the id, which makes a new row with the full lifetime.
        """
        self._purge_now_and_then()
        session_id = secrets.token_urlsafe(32)
        lookup = self._lookup(session_id)
        now = int(self._clock())
        lifetime = self.absolute_s if logged_in else min(self.absolute_s, PENDING_LOGIN_S)
        row = WebSession(
            lookup=lookup,
            data=self._seal(session_id, lookup, data),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
        self._write(lambda session: session.add(row))
        return session_id

    def save(self, session_id: str, data: dict[str, Any]) -> None:
        lookup = self._lookup(session_id)
        sealed = self._seal(session_id, lookup, data)
        now = int(self._clock())
        self._write(
            lambda session: session.execute(
                update(WebSession)
                .where(WebSession.lookup == lookup)
                .values(data=sealed, last_seen_at=now)
            )
        )

    def touch(self, session_id: str, last_seen_at: int) -> None:
        """Record use for the idle limit, at most once a minute."""
        now = int(self._clock())
        if now - last_seen_at < TOUCH_EVERY_S:
            return
        lookup = self._lookup(session_id)
        self._write(
            lambda session: session.execute(
                update(WebSession).where(WebSession.lookup == lookup).values(last_seen_at=now)
            )
        )

    def delete(self, session_id: str) -> None:
        """End the session everywhere: any copy of its cookie now finds nothing."""
        lookup = self._lookup(session_id)
        self._write(
            lambda session: session.execute(delete(WebSession).where(WebSession.lookup == lookup))
        )

    def _write(self, action: Callable[[Any], object]) -> None:
        try:
            with self._db.session() as session:
                action(session)
        except SQLAlchemyError as error:
            raise DatabaseUnavailable(type(error).__name__) from None

    def _purge_now_and_then(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = now
        cutoff = int(now)
        self._write(
            lambda session: session.execute(
                delete(WebSession).where(
                    (WebSession.expires_at <= cutoff)
                    | (WebSession.last_seen_at <= cutoff - self.idle_s)
                )
            )
        )


__all__ = ["Loaded", "SessionStore", "WebSession"]
