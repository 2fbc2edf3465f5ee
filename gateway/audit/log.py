"""The audit log service: group-committed appends and scheduled checkpoints.

Promise 5 is enforced here: ``append`` returns only after the entries are
committed, and raises :class:`AuditUnavailable` on any storage failure, so the
caller discloses nothing. Concurrent appends in one process are gathered by
one writer thread into a single transaction (group commit): many callers pay
for one fsync, and each still waits for the commit that holds its own entries.
The writer hands a batch's outcomes to each waiting event loop in one call
(one wake-up of the loop per commit, not one per caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from gateway import offload
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
class _Prepare:
    """Work that yields a request's events inside the group commit's transaction."""

    function: Callable[[Session], Sequence[AuditEvent]]
    context: contextvars.Context  # the caller's (trace, logging), for the work and its events
    now: datetime
    trace_id: str | None
    span_id: str | None
    caller: str | None


@dataclass(eq=False)
class _Request:
    """One caller's entries (or its prepare) on the way to a group commit.

    A thread waits on ``done``; a coroutine waits on ``waiter``, a future of its
    own ``loop``. The writer records the ``outcome`` (the seqs, or the error) and
    then settles the waits: the coroutines' in one call per loop and batch.
    """

    entries: list[PendingEntry]
    prepare: _Prepare | None = None
    done: Future[list[int]] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[list[int]] | None = None
    # Set by the waiting coroutine when it stops waiting (timed out, cancelled): a
    # request the writer has not taken yet is then left out, as a cancelled ``done``.
    abandoned: bool = False
    outcome: list[int] | BaseException | None = None

    def take(self) -> bool:
        """Whether its caller still waits (the writer commits it); once per request."""
        if self.done is not None:
            return self.done.set_running_or_notify_cancel()
        return not self.abandoned

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def finish(self, outcome: list[int] | BaseException) -> None:
        """Record the outcome; the first one stands."""
        if self.outcome is None:
            self.outcome = outcome


def _settle(requests: list[_Request]) -> None:
    """On the callers' loop: hand each waiting coroutine its outcome."""
    for request in requests:
        waiter, outcome = request.waiter, request.outcome
        if waiter is None or waiter.done() or outcome is None:  # cancelled or timed out
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _deliver(requests: list[_Request]) -> None:
    """Settle the finished requests' waits: threads one by one, each loop once."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Request]] = {}
    for request in requests:
        outcome = request.outcome
        if outcome is None:
            continue
        if request.done is not None:
            if isinstance(outcome, BaseException):
                request.done.set_exception(outcome)
            else:
                request.done.set_result(outcome)
        elif request.loop is not None:
            by_loop.setdefault(request.loop, []).append(request)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, waiting)


def _expire(request: _Request) -> None:
    """On the caller's loop, when its wait ran out: it fails closed (skipped if still queued)."""
    request.abandoned = True
    waiter = request.waiter
    if waiter is not None and not waiter.done():
        waiter.set_exception(AuditUnavailable("audit log did not commit in time"))


class _PrepareFailed(Exception):
    """A request's prepare raised something other than a storage error, or a write the
    database refused for its values: that request fails alone, the batch is rolled back
    (its other prepares may have written) and redone."""

    def __init__(self, request: _Request, error: Exception) -> None:
        super().__init__(type(error).__name__)
        self.request = request
        self.error = error


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


def _stamped(
    events: Sequence[AuditEvent],
    now: datetime,
    trace_id: str | None,
    span_id: str | None,
    caller: str | None,
) -> list[PendingEntry]:
    out = []
    for event in events:
        if not isinstance(event, AuditEvent):
            raise TypeError("append takes AuditEvent objects")
        if event.trace_id is not None:
            out.append(PendingEntry(event, now, event.trace_id, event.span_id, caller))
        else:
            out.append(PendingEntry(event, now, trace_id, span_id, caller))
    return out


def _run_prepare(session: Session, request: _Request) -> list[PendingEntry]:
    """The request's entries from its prepare, run in the caller's context."""
    prepare = request.prepare
    assert prepare is not None
    try:
        events = prepare.context.run(prepare.function, session)
        return _stamped(events, prepare.now, prepare.trace_id, prepare.span_id, prepare.caller)
    except (DataError, IntegrityError) as exc:
        # A value the database refuses (too long, NUL, a constraint) is this request's
        # data, not storage in doubt: a peer whose answer carries one must not fail the
        # other partners' queries of the batch. This request fails closed alone.
        log.warning("audit append refused a request's write: %s", type(exc).__name__)
        unavailable = AuditUnavailable(f"audit log refused the write ({type(exc).__name__})")
        raise _PrepareFailed(request, unavailable) from None
    except (SQLAlchemyError, KeyFileError, VaultError):
        raise  # storage in doubt: the whole batch fails closed
    except Exception as exc:  # noqa: BLE001 - this request's failure, not the batch's
        raise _PrepareFailed(request, exc) from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - e.g. a CancelledError raised in the checks
        # Not this process ending: this request's failure. Handed on as it is, a
        # CancelledError would read as the caller's task cancelled, and uncaught it
        # ended the writer thread with the whole batch waiting out its timeout.
        unavailable = AuditUnavailable(f"audit checks did not complete ({type(exc).__name__})")
        raise _PrepareFailed(request, unavailable) from None


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
        trace_id, span_id = current_trace_ids()
        return _stamped(events, datetime.now(UTC), trace_id, span_id, caller_trace_id())

    def _write_now(self, entries: list[PendingEntry]) -> list[int]:
        return self._write_requests([_Request(entries)])

    def _write_requests(self, requests: list[_Request]) -> list[int]:
        """One transaction for the batch: each request's prepare (in order), then its
        entries; the seqs of all entries in request order. A prepare that fails with
        anything but a storage error fails only its own request (set on its future)."""
        while True:
            try:
                with _unavailable_on_failure(), self.db.transaction() as session:
                    for request in requests:
                        if request.prepare is not None:
                            request.entries = _run_prepare(session, request)
                    entries = [e for r in requests for e in r.entries]
                    if not entries:  # nothing to log; a prepare's own writes still commit
                        return []
                    seqs, edge = write_batch(
                        session,
                        entries,
                        self.vault,
                        lock_timeout_s=self.timeout_s,
                        frontier=self.frontier,
                        last=True,  # its COMMIT in the insert's round trip (PostgreSQL)
                    )
            except _PrepareFailed as failed:  # rolled back: the others are redone
                requests = [r for r in requests if r is not failed.request]
                failed.request.finish(failed.error)
                if not requests:
                    return []
                continue
            self.frontier.committed(edge)  # only once the commit above returned
            return seqs

    def _enqueue(self, request: _Request) -> bool:
        """Hand ``request`` to the writer thread; ``False`` when none is running."""
        if self._writer is None or not self._writer.is_alive() or self._stopping.is_set():
            return False
        self._queue.put(request)
        return True

    def append_sync(self, events: Sequence[AuditEvent]) -> list[int]:
        """Commit ``events``; their seqs in order. Raises :class:`AuditUnavailable`."""
        entries = self._pending(events)
        if not entries:
            return []
        done: Future[list[int]] = Future()
        if not self._enqueue(_Request(entries, done=done)):
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
        loop = asyncio.get_running_loop()
        request = _Request(entries, loop=loop, waiter=loop.create_future())
        if not self._enqueue(request):
            return await asyncio.to_thread(self._write_now, entries)
        return await self._wait(request)

    async def _wait(self, request: _Request) -> list[int]:
        """Until the writer settles ``request``, at most :attr:`_wait_s` (then fail closed)."""
        assert request.loop is not None and request.waiter is not None
        timer = request.loop.call_later(self._wait_s, _expire, request)
        try:
            return await request.waiter
        except BaseException:
            request.abandoned = True  # timed out or cancelled: not taken yet, not written
            raise
        finally:
            timer.cancel()

    async def append_after(self, prepare: Callable[[Session], Sequence[AuditEvent]]) -> list[int]:
        """Run ``prepare`` in the group commit's transaction, then append the events it returns.

        For the last checks before a disclosure (the broker's consent recheck,
        contested records, withholdings): they read in the very transaction that
        commits their entries, on the writer thread, with no thread hop and no
        transaction of their own. ``prepare`` runs in the caller's context (trace);
        its entries carry the moment of this call. An exception from ``prepare``
        reaches this caller alone (the batch is redone without it), and so does a
        write of its that the database refuses for its values (as
        :class:`AuditUnavailable`); any other storage error fails the batch closed,
        as a failed write does. Returns once committed.
        """
        trace_id, span_id = current_trace_ids()
        loop = asyncio.get_running_loop()
        request = _Request(
            [],
            _Prepare(
                prepare,
                contextvars.copy_context(),
                datetime.now(UTC),
                trace_id,
                span_id,
                caller_trace_id(),
            ),
            loop=loop,
            waiter=loop.create_future(),
        )
        if not self._enqueue(request):
            return await offload.run_sync(self._write_alone, request)
        return await self._wait(request)

    def _write_alone(self, request: _Request) -> list[int]:
        """Without a running writer: the request in a transaction of its own, here."""
        seqs = self._write_requests([request])
        if isinstance(request.outcome, BaseException):
            raise request.outcome
        return seqs

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
            count += len(item.entries) or 1  # a prepared request's entries are not known yet
        return batch, stop

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                break
            assert isinstance(item, _Request)
            batch, stop = self._gather(item)
            requests = [r for r in batch if r.take()]
            try:
                self._commit_batch(requests)
            except BaseException as exc:
                # The process is ending (KeyboardInterrupt, SystemExit): nobody waits
                # out a timeout for an answer that cannot come; later appends, if any,
                # find no writer and commit in their own transaction.
                log.error("audit writer stopped: %s", type(exc).__name__)
                for request in requests:
                    request.finish(AuditUnavailable("audit writer stopped"))
                _deliver(requests)
                self._fail_queued()
                raise
            _deliver(requests)
        self._fail_queued()

    def _commit_batch(self, requests: list[_Request]) -> None:
        """Commit ``requests`` in one transaction and record each one's outcome.

        A failure that is not the storage's (an entry the encoder refuses, a bug)
        belongs to one request, not to the batch: the requests are then written one
        by one, so a bad one fails alone instead of turning every other caller's
        query in the same group commit into a 503. A storage failure fails them
        all at once (writing them one by one would only wait for it again).
        """
        try:
            seqs = self._write_requests(requests)
        except AuditUnavailable as exc:
            for request in requests:
                request.finish(replace_exc(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the writer must outlive a bad batch
            log.error("audit append failed unexpectedly: %s", type(exc).__name__)
            if len(requests) == 1:
                requests[0].finish(AuditUnavailable(type(exc).__name__))
                return
            for request in requests:
                if not request.finished:
                    self._commit_batch([request])
            return
        pos = 0
        for request in requests:
            if request.finished:  # its prepare failed; it was left out
                continue
            request.finish(seqs[pos : pos + len(request.entries)])
            pos += len(request.entries)

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request) and item.take():
                item.finish(AuditUnavailable("audit log is stopping"))
                _deliver([item])

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
