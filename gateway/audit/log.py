"""The audit log service: group-committed appends and scheduled checkpoints.

Promise 5 is enforced here: ``append`` returns only after the entries are
committed, and raises :class:`AuditUnavailable` on any storage failure, so the
caller discloses nothing. Concurrent appends in one process are gathered by
one writer thread into a single transaction (group commit): many callers pay
for one fsync, and each still waits for the commit that holds its own entries.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.audit.checkpoints import make_checkpoint
from gateway.audit.core.checkpoint_format import Checkpoint
from gateway.audit.events import AuditEvent
from gateway.audit.keyfiles import KeyFileError
from gateway.audit.signer import CheckpointSigner
from gateway.audit.store import PendingEntry, WriterFrontier, write_batch
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import VaultError
from gateway.keys import KeyStoreError
from gateway.storage.db import Database
from gateway.telemetry import current_trace_ids
from gateway.tracecontext import caller_trace_id

log = logging.getLogger("ketenpoort.audit")

MAX_BATCH = 2048
WAIT_MARGIN_S = 0.5


class AuditUnavailable(RuntimeError):
    """The log could not be written; nothing may be disclosed (fail-closed)."""


@dataclass
class _Request:
    entries: list[PendingEntry]
    done: Future[list[int]]


_STOP = object()


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Storage or key failures while appending become :class:`AuditUnavailable` (fail closed)."""
    try:
        yield
    except SQLAlchemyError as exc:
        log.warning("audit append failed: %s", type(exc).__name__)
        raise AuditUnavailable(f"audit log not writable ({type(exc).__name__})") from None
    except (KeyFileError, VaultError) as exc:
        log.error("audit append failed: %s", type(exc).__name__)
        raise AuditUnavailable(f"audit keys unavailable ({type(exc).__name__})") from None
    except LookupError as exc:
        raise AuditUnavailable("audit log schema missing") from exc


class AuditLog:
    """Appends events durably and keeps signed checkpoints current.

    Without :meth:`start` every append is its own transaction in the calling
    thread, which is what one-off CLI commands want.
    """

    def __init__(
        self,
        db: Database,
        vault: SubjectVault,
        signer: CheckpointSigner | None,
        *,
        checkpoint_interval_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.db = db
        self.vault = vault
        self.signer = signer
        self.checkpoint_interval_s = checkpoint_interval_s
        self.timeout_s = timeout_s
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        # The tree's right edge as of this instance's last commit: appends read
        # no subtree back unless another writer moved the head (store.py).
        self.frontier = WriterFrontier()

    # -- appending ---------------------------------------------------------

    def _pending(self, events: Sequence[AuditEvent]) -> list[PendingEntry]:
        now = datetime.now(UTC)
        trace_id, span_id = current_trace_ids()
        caller = caller_trace_id()
        out = []
        for event in events:
            if not isinstance(event, AuditEvent):
                raise TypeError("append takes AuditEvent objects")
            if event.trace_id is not None:
                out.append(PendingEntry(event, now, event.trace_id, event.span_id, caller))
            else:
                out.append(PendingEntry(event, now, trace_id, span_id, caller))
        return out

    def _write_now(self, entries: list[PendingEntry]) -> list[int]:
        with _unavailable_on_failure():
            with self.db.session() as session:
                seqs, edge = write_batch(
                    session,
                    entries,
                    self.vault,
                    lock_timeout_s=self.timeout_s,
                    frontier=self.frontier,
                )
            self.frontier.committed(edge)  # only once the commit above returned
            return seqs

    def _submit(self, entries: list[PendingEntry]) -> Future[list[int]] | None:
        if self._writer is None or not self._writer.is_alive() or self._stopping.is_set():
            return None
        done: Future[list[int]] = Future()
        self._queue.put(_Request(entries, done))
        return done

    def append_sync(self, events: Sequence[AuditEvent]) -> list[int]:
        """Commit ``events``; their seqs in order. Raises :class:`AuditUnavailable`."""
        entries = self._pending(events)
        if not entries:
            return []
        done = self._submit(entries)
        if done is None:
            return self._write_now(entries)
        try:
            return done.result(timeout=self._wait_s)
        except FutureTimeout:
            done.cancel()  # still queued: the writer skips it
            raise AuditUnavailable("audit log did not commit in time") from None

    def append_in(self, session: Session, events: Sequence[AuditEvent]) -> list[int]:
        """Append inside the caller's transaction, so a state change and its entry commit together.

        For low-volume changes (cases, consents, rights); SQLite allows one writer,
        so the change and its log entry must share the connection. The caller's
        commit makes the entries durable; its rollback removes them.
        """
        entries = self._pending(events)
        if not entries:
            return []
        with _unavailable_on_failure():
            # The caller commits (or not) later: its edge is not adopted, and the
            # next group commit rebuilds the edge once when it finds the head moved.
            seqs, _edge = write_batch(
                session, entries, self.vault, lock_timeout_s=self.timeout_s, frontier=self.frontier
            )
            return seqs

    async def append(self, events: Sequence[AuditEvent]) -> list[int]:
        """Async :meth:`append_sync`: returns once the entries are committed."""
        entries = self._pending(events)
        if not entries:
            return []
        done = self._submit(entries)
        if done is None:
            return await asyncio.to_thread(self._write_now, entries)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(done), self._wait_s)
        except TimeoutError:
            raise AuditUnavailable("audit log did not commit in time") from None

    @property
    def _wait_s(self) -> float:
        """How long a caller waits for its commit: the database's own bound plus a little.

        A batch queued behind one that hangs on a frozen database would otherwise
        wait for both; the caller must get its 503 within ``db_timeout_s`` + 1 s.
        """
        return self.timeout_s + WAIT_MARGIN_S

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        batch, count, stop = [first], len(first.entries), False
        while count < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                break
            assert isinstance(item, _Request)
            batch.append(item)
            count += len(item.entries)
        return batch, stop

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                break
            assert isinstance(item, _Request)
            batch, stop = self._gather(item)
            requests = [r for r in batch if r.done.set_running_or_notify_cancel()]
            entries = [e for r in requests for e in r.entries]
            try:
                seqs = self._write_now(entries)
            except AuditUnavailable as exc:
                for request in requests:
                    request.done.set_exception(replace_exc(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - the writer must outlive a bad batch
                log.error("audit append failed unexpectedly: %s", type(exc).__name__)
                for request in requests:
                    request.done.set_exception(AuditUnavailable(type(exc).__name__))
                continue
            pos = 0
            for request in requests:
                request.done.set_result(seqs[pos : pos + len(request.entries)])
                pos += len(request.entries)
        self._fail_queued()

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request) and item.done.set_running_or_notify_cancel():
                item.done.set_exception(AuditUnavailable("audit log is stopping"))

    # -- checkpoints -------------------------------------------------------

    def checkpoint_now(self) -> Checkpoint | None:
        """Sign the current size if it has no head yet (idempotent across instances)."""
        if self.signer is None:
            raise AuditUnavailable("no checkpoint signer configured")
        try:
            with self.db.session() as session:
                return make_checkpoint(session, self.signer, edge=self.frontier.current())
        except SQLAlchemyError as exc:
            raise AuditUnavailable(f"checkpoint not stored ({type(exc).__name__})") from None
        except KeyStoreError as exc:
            raise AuditUnavailable(f"checkpoint not signed: {exc}") from None

    def _checkpoint_loop(self) -> None:
        while not self._stopping.wait(self.checkpoint_interval_s):
            try:
                self.checkpoint_now()
            except AuditUnavailable as exc:
                log.warning("checkpoint skipped: %s", exc)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start the writer and (with a signer) the checkpointer; touches no database."""
        if self._writer is not None and self._writer.is_alive():
            return
        self._stopping.clear()
        self._writer = threading.Thread(target=self._write_loop, name="audit-writer", daemon=True)
        self._writer.start()
        if self.signer is not None:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="audit-checkpointer", daemon=True
            )
            self._checkpointer.start()

    def stop(self) -> None:
        """Commit what is queued, then stop both threads."""
        self._stopping.set()
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join(timeout=self.timeout_s * 2)
            self._writer = None
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=self.timeout_s * 2)
            self._checkpointer = None


def replace_exc(exc: AuditUnavailable) -> AuditUnavailable:
    """A fresh exception per waiting caller: tracebacks must not be shared across threads."""
    return AuditUnavailable(str(exc))


__all__ = ["AuditEvent", "AuditLog", "AuditUnavailable"]
