"""The key manifest: which keys exist, for which use, and since when they are retired.

Kept as a small JSON file next to the encrypted private keys so an operator can
read it, and so several gateway processes sharing the key directory see a
rotation as soon as the file changes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from gateway.storage.types import as_utc

KeyUse = Literal["token", "audit"]
KEY_USES: tuple[KeyUse, ...] = get_args(KeyUse)
MANIFEST_FILE = "manifest.json"


class KeyStoreError(RuntimeError):
    """The key store cannot be used; the gateway fails closed rather than sign with less."""


@dataclass(frozen=True)
class KeyRecord:
    """One key pair as listed in the manifest; the private half lives in ``file``."""

    kid: str
    use: KeyUse
    alg: str
    created: datetime
    file: str
    retired_at: datetime | None = None

    @property
    def is_current(self) -> bool:
        return self.retired_at is None

    def retire(self, when: datetime) -> KeyRecord:
        return replace(self, retired_at=when)

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "use": self.use,
            "alg": self.alg,
            "created": self.created.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "file": self.file,
        }

    @classmethod
    def from_json(cls, data: Any) -> KeyRecord:
        if not isinstance(data, dict):
            raise KeyStoreError("manifest entry is not an object")
        try:
            use = data["use"]
            if use not in KEY_USES:
                raise KeyStoreError(f"manifest entry has unknown use {use!r}")
            retired = data.get("retired_at")
            file = str(data["file"])
            if Path(file).name != file:
                raise KeyStoreError("manifest entry names a file outside the key directory")
            return cls(
                kid=str(data["kid"]),
                use=use,
                alg=str(data["alg"]),
                created=as_utc(datetime.fromisoformat(data["created"])),
                retired_at=as_utc(datetime.fromisoformat(retired)) if retired else None,
                file=file,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise KeyStoreError(f"manifest entry is malformed ({type(error).__name__})") from None


def read_manifest(path: Path) -> list[KeyRecord]:
    """Every record, or an empty list when no manifest was written yet."""
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KeyStoreError(f"{path}: unreadable key manifest ({type(error).__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyStoreError(f"{path}: not a key manifest (needs a 'keys' list)")
    return [KeyRecord.from_json(entry) for entry in document["keys"]]


def write_manifest(path: Path, records: list[KeyRecord]) -> None:
    """Replace the manifest atomically, so a reader never sees half a file."""
    body = json.dumps({"version": 1, "keys": [r.to_json() for r in records]}, indent=2)
    write_private_file(path, body.encode("utf-8"))


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only (0600), via rename so it is all-or-nothing."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
