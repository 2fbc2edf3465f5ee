"""Dev-IdP secrets on local disk (dev mode only), created on first use with mode 0600.

Plain files on purpose: the dev IdP never runs outside dev mode. The web
session secret is *not* kept here: it is sealed like the vault key
(gateway/audit/keyfiles.py; see gateway/auth/web_sessions.py).

``O_EXCL`` makes two processes starting at once agree on one secret: the loser
of the race reads the winner's file instead of overwriting it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """The hex secret stored at ``path``; generated (0600) if the file is missing."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(nbytes))
    return read_secret(path)


def read_secret(path: Path) -> str:
    value = path.read_text(encoding="ascii").strip()
    if len(value) < 32:
        raise ValueError(f"secret file {path.name} is too short")
    return value


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new 0600 file; fails if the file already exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
