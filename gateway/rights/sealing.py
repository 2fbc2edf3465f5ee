"""Free text of a rights request, sealed under the person's own data key.

The key is the audit vault's per-subject key (scope ``subject``), the same
one that seals the person's rights entries in the log, so one erasure makes
both unreadable (promise 7). Each value is bound to its request and field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import VaultError, open_sealed, seal


def _aad(request_id: str, name: str) -> bytes:
    return f"rights-request:{request_id}:{name}".encode("ascii")


class RequestSealer:
    def __init__(self, vault: SubjectVault) -> None:
        self._vault = vault

    def seal(self, session: Session, pseudonym: str, request_id: str, name: str, text: str) -> str:
        spec = (pseudonym, "subject", "")
        key = self._vault.keys_for(session, [spec], datetime.now(UTC))[spec]
        token = seal(key.secret, text.encode("utf-8"), _aad(request_id, name))
        return f"{key.key_id}.{token}"

    def open(self, session: Session, request_id: str, name: str, sealed: str | None) -> str | None:
        """The text, or ``None`` once the person's key has been erased."""
        if sealed is None:
            return None
        key_id, _, token = sealed.partition(".")
        key = self._vault.open_keys(session, [key_id]).get(key_id)
        try:
            return open_sealed(key, token, _aad(request_id, name)).decode("utf-8")
        except VaultError:
            return None
