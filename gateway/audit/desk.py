"""The audit log's read desk: checkpoints, proofs and the officer's search, one door for all.

Both doors (the partner API and /privacy) come through here. The desk opens
the transaction, turns storage and key trouble into the problems the doors
answer with (503, never a stack trace) and writes the read's own entry: a
search is returned only after its ``audit``/``read`` entry is committed, a
refused read leaves an ``audit``/``denied`` entry (gateway.audit.officer_reads).
Routers only translate HTTP to these calls and the answers back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.anomalies import Anomalies, officer_signals
from gateway.audit.checkpoints import (
    ConsistencyProof,
    InclusionProof,
    NoCheckpoint,
    checkpoint_at,
    latest_checkpoint,
    prove_consistency,
    prove_inclusion,
)
from gateway.audit.core.checkpoint_format import Checkpoint
from gateway.audit.core.merkle import MerkleError
from gateway.audit.head_check import HeadCheck, check_head
from gateway.audit.keyfiles import KeyFileError
from gateway.audit.log import AuditLog
from gateway.audit.officer import Reader
from gateway.audit.officer_reads import log_refusal, log_refusal_async, query_filters, read_page
from gateway.audit.search import BadQuery, EntryPage, EntryQuery
from gateway.audit.vault import VaultError
from gateway.problems import NotFound, ServiceUnavailable, Unprocessable
from gateway.subjects.bsn import Bsn, Pseudonymizer

STORAGE_DOWN = "The audit log's storage is unavailable."
KEYS_DOWN = "The audit log's keys are unavailable."


@contextmanager
def _storage_problems() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError:
        raise ServiceUnavailable(detail=STORAGE_DOWN) from None


@dataclass(frozen=True)
class Overview:
    """What the FG's page shows beside the entries: the head check and the signals."""

    head: HeadCheck
    signals: Anomalies


class AuditReadDesk:
    def __init__(self, log: AuditLog, pseudonymizer: Callable[[], Pseudonymizer]) -> None:
        self._log = log
        self._pseudonymizer = pseudonymizer

    def checkpoint(self, size: int | None) -> Checkpoint:
        """The latest signed tree head, or the one signed at ``size`` (404 if none)."""
        try:
            with _storage_problems(), self._log.db.session() as session:
                head = (
                    checkpoint_at(session, size) if size is not None else latest_checkpoint(session)
                )
        except NoCheckpoint:
            raise NotFound(detail="No signed checkpoint at that size.") from None
        if head is None:
            raise NotFound(detail="No checkpoint has been signed yet.")
        return head

    def jwks(self) -> dict[str, Any]:
        """The public keys that sign checkpoints (503 without a signer)."""
        signer = self._log.signer
        if signer is None:
            raise ServiceUnavailable(detail="No checkpoint signer is configured.")
        return signer.jwks()

    def inclusion(self, seq: int, size: int) -> InclusionProof:
        if seq >= size:
            raise Unprocessable(detail="seq must be smaller than size.")
        try:
            with _storage_problems(), self._log.db.session() as session:
                return prove_inclusion(session, seq, size)
        except NoCheckpoint:
            raise NotFound(detail="No signed checkpoint at that size.") from None
        except MerkleError:
            raise Unprocessable(detail="No such proof exists.") from None

    def consistency(self, first: int, second: int) -> ConsistencyProof:
        if first > second:
            raise Unprocessable(detail="from must not exceed to.")
        try:
            with _storage_problems(), self._log.db.session() as session:
                return prove_consistency(session, first, second)
        except NoCheckpoint:
            raise NotFound(detail="No signed checkpoint at one of those sizes.") from None
        except MerkleError:
            raise Unprocessable(detail="No such proof exists.") from None

    def signer_jwks(self) -> Mapping[str, Any] | None:
        """The checkpoint keys, or ``None`` without a signer (the head check says so)."""
        signer = self._log.signer
        return signer.jwks() if signer is not None else None

    def overview(self, covenants: tuple[str, ...]) -> Overview:
        """The quick integrity check and the anomaly signals of the officer's covenants."""
        with self._log.db.session() as session:
            return Overview(
                check_head(session, self.signer_jwks), officer_signals(session, covenants)
            )

    def pseudonym(self, bsn: Bsn) -> str:
        """The keyed pseudonym a person search looks for (the BSN itself is never stored)."""
        return self._pseudonymizer().pseudonym(bsn)

    def read(self, reader: Reader, query: EntryQuery, action: str) -> EntryPage:
        """One page of the reader's covenants' entries, returned once the read is logged.

        Raises the domain's own errors (``BadQuery``, key errors): the page says
        them in Dutch; :meth:`search` turns them into problems for the API.
        """
        return read_page(self._log, reader, query, action, filters=query_filters(query))

    def search(self, reader: Reader, query: EntryQuery, action: str = "search") -> EntryPage:
        """:meth:`read` for the API: a bad cursor is a 422, missing storage or keys a 503."""
        try:
            with _storage_problems():
                return self.read(reader, query, action)
        except BadQuery:
            raise Unprocessable(detail="Unknown cursor or a time out of range.") from None
        except (KeyFileError, VaultError):
            raise ServiceUnavailable(detail=KEYS_DOWN) from None

    def refuse(self, reader: Reader, action: str, reason: str) -> None:
        """Log a refused read (it raises when the entry cannot be written: fail closed)."""
        log_refusal(self._log, reader, action, reason)

    async def refuse_async(self, reader: Reader, action: str, reason: str) -> None:
        await log_refusal_async(self._log, reader, action, reason)
