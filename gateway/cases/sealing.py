"""The subject's BSN, sealed under the subject's own data key.

The key is the audit vault's per-subject key (scope ``subject``), so erasing a
person (crypto-shredding) makes both their log entries and the BSN the
gateway needs to ask sources unreadable at once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import VaultError, open_sealed, seal
from gateway.problems import NotFound
from gateway.subjects.bsn import Bsn

_AAD = b"case-subject-bsn:"


class SubjectErased(NotFound):
    slug = "subject-erased"
    title = "The case's subject has been erased"


class VaultSealer:
    """Implements :class:`gateway.cases.service.SubjectSealer` on the audit vault."""

    def __init__(self, vault: SubjectVault) -> None:
        self._vault = vault

    def seal_bsn(self, session: Session, pseudonym: str, bsn: Bsn) -> str:
        spec = (pseudonym, "subject", "")
        key = self._vault.keys_for(session, [spec], datetime.now(UTC))[spec]
        token = seal(key.secret, bsn.reveal().encode("ascii"), _AAD + pseudonym.encode())
        return f"{key.key_id}.{token}"

    def open_bsn(self, session: Session, pseudonym: str, sealed: str) -> Bsn:
        key_id, _, token = sealed.partition(".")
        key = self._vault.open_keys(session, [key_id]).get(key_id)
        try:
            digits = open_sealed(key, token, _AAD + pseudonym.encode())
        except VaultError:
            raise SubjectErased() from None
        return Bsn(digits.decode("ascii"))
