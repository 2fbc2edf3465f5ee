"""Check the query columns and the subject index against the verified entry bodies.

Only ``audit_entries.body`` is hashed into the tree, but inzage, the FG search
and the anomaly views select by the columns next to it (``time``, ``kind``,
``outcome``, ``party``, ``purpose``, ``case_id``, ``convenant``: the privacy
officer's covenant scope) and find a person through
``audit_subject_index``. Changing ``kind`` from ``disclosure`` to ``decision``,
or deleting a person's index rows, leaves every leaf and root intact while the
person's inzage loses the disclosure. So ``audit verify`` also recomputes every
derived value from the body it has just hashed and compares:

- each column with the body field it was copied from (``case_id`` is ``case``,
  ``time`` is the body's RFC 3339 time);
- the index rows of each entry with the ones the body implies: an entry whose
  body names data key ``k`` has exactly one row ``(pseudonym of k, seq, k)``
  while ``k`` is live, and none once ``k`` is erased (crypto-shredding drops
  them); an entry without a subject has none; no row names a seq past the log;
- with the master key at hand, that the body's sealed subject opens, under
  ``k``, to the pseudonym ``k`` is linked to: re-linking a key or rewriting
  the index consistently to another person is then found as well.

This runs once per entry of the whole log, so a page is first decoded by
msgspec into a struct of just the eight fields compared (``time``, the six
copied fields and ``subject``): the other fields are skipped, not built, which
is about a fifth of the CPU of a full parse. Only when every body decodes and
every row's columns equal its fields is that the verdict; any other page is
parsed again with pydantic's JSON parser and checked row by row as before, so
a mismatch is named from the same values with the same message. Two correct
JSON decoders give the same string or null for a field of a document both
accept, and a field the columns are compared with is only ever a string or
null, so the decoded struct never passes a page the full parse would fail.
Bodies come as text or as their UTF-8 bytes. It reads in pages, inside the
caller's snapshot, and remembers only the first mismatch: its seq and which
column or index is wrong (never a value, which could be a pseudonym).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import compress, repeat
from operator import attrgetter, is_not, itemgetter
from typing import Any

import msgspec
from pydantic_core import from_json
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey, AuditEntry, AuditSubjectIndex
from gateway.audit.store import entry_aad
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import DataKey, VaultError, open_sealed

COLUMNS: tuple[tuple[str, str], ...] = (
    ("kind", "kind"),
    ("outcome", "outcome"),
    ("party", "party"),
    ("purpose", "purpose"),
    ("case_id", "case"),
    ("convenant", "convenant"),
)
"""(column of ``audit_entries``, body field it is copied from); ``time`` is compared apart."""

INDEX = "audit_subject_index"


EntryRow = Sequence[Any]
"""``(seq, leaf_hash, body, time, kind, outcome, party, purpose, case_id, convenant)`` as stored;
plain rows, since this runs once per entry of the whole log. ``body`` is text or its UTF-8
bytes; ``time`` a datetime, the RFC 3339 text the body holds, PostgreSQL's 8 binary bytes
(:mod:`gateway.audit.entry_stream`; :func:`moment_text` reads each), ``None`` when it has none."""

_FIRST_COLUMN = 4


class _Copied(msgspec.Struct, gc=False):
    """The body fields the columns and the index are compared with; missing or null: ``None``.

    ``time`` must be a string: the column's RFC 3339 text is never ``None`` when it matches
    (a stored moment the server cannot format comes as ``None``, a mismatch).
    """

    time: str
    kind: Any = None
    outcome: Any = None
    party: Any = None
    purpose: Any = None
    case: Any = None
    convenant: Any = None
    subject: Any = None


_DECODE = msgspec.json.Decoder(_Copied).decode
_EXPECTED = attrgetter("kind", "outcome", "party", "purpose", "case", "convenant")
_EXPECTED_TIME = attrgetter("time")
_SUBJECT = attrgetter("subject")
_BODY = itemgetter(2)
_STORED = itemgetter(slice(_FIRST_COLUMN, 10))
_STORED_TIME = itemgetter(3)
_SEQ = itemgetter(0)
_PG_EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Mismatch:
    seq: int
    problem: str


@dataclass(frozen=True)
class _Key:
    pseudonym: str | None
    wrapped: str | None

    @property
    def live(self) -> bool:
        return self.pseudonym is not None and self.wrapped is not None


def entry_records(
    session: Session, page: int, *, start: int = 0, below: int | None = None
) -> Iterator[list[EntryRow]]:
    """Every entry in seq order, a page at a time (keyset paging on the primary key).

    Through the session's connection (Core, not the ORM): no per-row ORM work.
    """
    extra = [getattr(AuditEntry, name) for name, _field in COLUMNS]
    connection = session.connection()
    last = start - 1
    while True:
        query = select(
            AuditEntry.seq, AuditEntry.leaf_hash, AuditEntry.body, AuditEntry.time, *extra
        ).where(AuditEntry.seq > last)
        if below is not None:
            query = query.where(AuditEntry.seq < below)
        rows: list[EntryRow] = list(
            connection.execute(query.order_by(AuditEntry.seq).limit(page)).all()
        )
        if not rows:
            return
        yield rows
        last = int(rows[-1][0])


class DerivedCheck:
    """Fed every page of entries in order; keeps the first mismatch it finds."""

    def __init__(
        self, session: Session, vault: SubjectVault | None = None, *, start: int = 0
    ) -> None:
        """``start``: the first seq the pages will hold (a parallel verifier checks a slice)."""
        self.session = session
        self.vault = vault
        self.first: Mismatch | None = None
        self._index_done: int | None = start - 1 if start else None
        self._stopped = False
        self._complete = False

    def pages(self, pages: Iterable[list[EntryRow]]) -> Iterator[tuple[int, bytes, bytes]]:
        """Pass the rows on as ``(seq, leaf hash, body)`` after checking each page."""
        for rows in pages:
            if self.first is None and not self._stopped and rows:
                self._check_page(rows)
            for row in rows:
                body = row[2]
                yield int(row[0]), bytes(row[1]), body if type(body) is bytes else body.encode()
        self._complete = True

    def check(self, rows: Sequence[EntryRow]) -> bool:
        """Check one page (the next in seq order); ``False`` once anything is wrong or unread.

        For a caller that walks the rows itself (the parallel pass); it must
        then call :meth:`done` after the last page, as :meth:`pages` does.
        """
        if self.first is None and not self._stopped and rows:
            self._check_page(rows)
        return self.first is None and not self._stopped

    def done(self) -> None:
        """Every page was fed to :meth:`check` (so :meth:`finish` may look for stray rows)."""
        self._complete = True

    @property
    def stopped(self) -> bool:
        """A body was not a JSON object: the leaf check (not this one) reports it."""
        return self._stopped

    def finish(self) -> Mismatch | None:
        """After the last page: index rows naming a seq the log does not hold.

        Skipped when the leaf check stopped reading early: rows past that point
        were never compared, so they cannot be called strays.
        """
        if self.first is not None or self._stopped or not self._complete:
            return self.first
        query = select(AuditSubjectIndex.seq).order_by(AuditSubjectIndex.seq).limit(1)
        if self._index_done is not None:
            query = query.where(AuditSubjectIndex.seq > self._index_done)
        stray = self.session.scalar(query)
        if stray is not None:
            self._found(int(stray), f"{INDEX} has a row for seq {stray}, which is not in the log")
        return self.first

    def _found(self, seq: int, problem: str) -> None:
        if self.first is None or seq < self.first.seq:
            self.first = Mismatch(seq, problem)

    def _check_page(self, rows: Sequence[EntryRow]) -> None:
        try:
            decoded = list(map(_DECODE, map(_BODY, rows)))
        except (msgspec.MsgspecError, ValueError, TypeError, RecursionError):
            decoded = []  # parsed again below: the full parser decides what the page holds
        times = _times_as_text(rows)
        if (
            len(decoded) == len(rows)
            and list(map(_STORED, rows)) == list(map(_EXPECTED, decoded))
            and times == list(map(_EXPECTED_TIME, decoded))
        ):
            self._check_index(rows, list(map(_SUBJECT, decoded)))
            return
        rows = [
            (*row[:3], text, *row[_FIRST_COLUMN:]) for row, text in zip(rows, times, strict=True)
        ]
        try:
            parsed = [from_json(row[2]) for row in rows]
        except ValueError:
            parsed = []
        if len(parsed) != len(rows) or not all(type(body) is dict for body in parsed):
            self._check_page_by_row(rows)  # names the first bad row, or stops where it is
            return
        if not _columns_match(rows, parsed):
            for row, body in zip(rows, parsed, strict=True):
                problem = _column_problem(row, body)
                if problem is not None:
                    self._found(int(row[0]), problem)
                    return
        self._check_index(rows, [body.get("subject") for body in parsed])

    def _check_page_by_row(self, rows: Sequence[EntryRow]) -> None:
        """One row at a time, up to the first body that is not a JSON object."""
        subjects: list[Any] = []
        for row in rows:
            try:
                body = from_json(row[2])
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._stopped = True  # not an entry: the leaf check names it
                return
            subjects.append(body.get("subject"))
            problem = _column_problem(row, body)
            if problem is not None:
                self._found(int(row[0]), problem)
                return
        self._check_index(rows, subjects)

    def _check_index(self, rows: Sequence[EntryRow], subjects: Sequence[Any]) -> None:
        """``subjects``: each row's body's ``subject`` field (``None`` if it has none)."""
        high = int(rows[-1][0])
        query = select(
            AuditSubjectIndex.seq, AuditSubjectIndex.pseudonym, AuditSubjectIndex.key_id
        ).where(AuditSubjectIndex.seq <= high)
        if self._index_done is not None:
            query = query.where(AuditSubjectIndex.seq > self._index_done)
        stored: dict[int, set[tuple[str, str]]] = {}
        for seq, pseudonym, key_id in self.session.execute(query):
            stored.setdefault(int(seq), set()).add((str(pseudonym), str(key_id)))
        self._index_done = high
        known: set[int] = set()
        if stored:
            known = set(map(int, map(_SEQ, rows)))
            stray = sorted(seq for seq in stored if seq not in known)
            if stray:
                self._found(
                    stray[0], f"{INDEX} has a row for seq {stray[0]}, which is not in the log"
                )
        # Entries without a subject and without index rows cannot disagree: skip them.
        named = {
            int(rows[at][0]): _subject(subjects[at])
            for at in compress(range(len(rows)), map(is_not, subjects, repeat(None)))
        }
        for seq in stored:
            if seq not in named and seq in known:
                named[seq] = (None, None)
        wanted = {key for key, _sealed in named.values() if key is not None}
        wanted.update(indexed for entries in stored.values() for _p, indexed in entries)
        keys = self._keys(wanted)
        opened: dict[str, DataKey] = {}
        for seq in sorted(named):
            named_key, sealed = named[seq]
            problem = self._index_problem(
                seq, named_key, sealed, stored.get(seq, set()), keys, opened
            )
            if problem is not None:
                self._found(seq, problem)
                return

    def _keys(self, key_ids: set[str]) -> dict[str, _Key]:
        found: dict[str, _Key] = {}
        ids = sorted(key_ids)
        for start in range(0, len(ids), 1000):
            rows = self.session.execute(
                select(
                    AuditDataKey.key_id, AuditDataKey.subject_pseudonym, AuditDataKey.wrapped
                ).where(AuditDataKey.key_id.in_(ids[start : start + 1000]))
            )
            found.update((key_id, _Key(pseudonym, wrapped)) for key_id, pseudonym, wrapped in rows)
        return found

    def _index_problem(
        self,
        seq: int,
        key_id: str | None,
        sealed: str | None,
        stored: set[tuple[str, str]],
        keys: dict[str, _Key],
        opened: dict[str, DataKey],
    ) -> str | None:
        if key_id is None:
            if stored:
                return f"{INDEX} has a row for seq {seq}, whose entry names no subject"
            return None
        key = keys.get(key_id)
        if key is None:
            return f"the entry names data key {key_id}, which audit_data_keys does not hold"
        expected: set[tuple[str, str]] = set()
        if key.live and key.pseudonym is not None:
            expected = {(key.pseudonym, key_id)}
        if stored - expected:
            return f"{INDEX} has a row for seq {seq} that its entry does not imply"
        if expected - stored:
            return f"{INDEX} lacks the row for seq {seq} (data key {key_id})"
        checkable = self.vault is not None and key.live and key.pseudonym is not None
        if checkable and not self._opens_to(seq, key_id, key, sealed, key.pseudonym, opened):
            return f"the subject sealed in entry {seq} is not the person data key {key_id} names"
        return None

    def _opens_to(
        self,
        seq: int,
        key_id: str,
        key: _Key,
        sealed: str | None,
        pseudonym: str | None,
        opened: dict[str, DataKey],
    ) -> bool:
        if self.vault is None or sealed is None or pseudonym is None:
            return False
        try:
            data_key = opened.get(key_id)
            if data_key is None:
                data_key = DataKey.unwrap(self.vault.master(), key_id, key.wrapped)
                opened[key_id] = data_key
            plain = open_sealed(data_key, sealed, entry_aad(seq, "subject"))
        except VaultError:
            return False
        return plain == pseudonym.encode("utf-8")


def _columns_match(rows: Sequence[EntryRow], bodies: Sequence[dict[str, Any]]) -> bool:
    """Every row's ``time`` (as RFC 3339 text) and copied columns equal its body's fields.

    A page at a time, as two lists of tuples: ``True`` only where
    :func:`_column_problem` finds nothing in any row; on ``False`` (or rows
    whose ``time`` is a datetime) the caller asks it row by row.
    """
    stored = [tuple(row[3:10]) for row in rows]
    if any(type(values[0]) is not str for values in stored):
        return False
    expected = [
        (
            get("time"),
            get("kind"),
            get("outcome"),
            get("party"),
            get("purpose"),
            get("case"),
            get("convenant"),
        )
        for get in (body.get for body in bodies)
    ]
    return stored == expected


def _column_problem(row: EntryRow, body: dict[str, Any]) -> str | None:
    get = body.get
    stored = row[_FIRST_COLUMN:]
    expected = (
        get("kind"),
        get("outcome"),
        get("party"),
        get("purpose"),
        get("case"),
        get("convenant"),
    )
    if tuple(stored) != expected:
        for (column, field), value in zip(COLUMNS, stored, strict=True):
            if value != get(field):
                return f"column audit_entries.{column} differs from the entry's {field!r}"
    stamp = row[3]
    if isinstance(stamp, datetime):
        stamp = _rfc3339(stamp)
    elif type(stamp) is not str:
        return "column audit_entries.time differs from the entry's 'time'"
    if stamp != get("time"):
        return "column audit_entries.time differs from the entry's 'time'"
    return None


def moment_text(value: object) -> str | None:
    """A stored ``time`` as the body's RFC 3339 text; ``None`` for what names no moment.

    ``value``: that text already (:mod:`gateway.audit.entry_stream`), a datetime, or
    PostgreSQL's binary ``timestamptz`` (8 bytes, signed big-endian microseconds since
    2000-01-01 UTC). A moment Python cannot hold (year 10000, ``infinity``) is ``None``:
    the gateway never wrote it, so it is a mismatch.
    """
    if type(value) is str:
        return value
    if isinstance(value, datetime):
        return _rfc3339(value)
    if type(value) is bytes and len(value) == 8:
        try:
            moment = _PG_EPOCH + timedelta(microseconds=int.from_bytes(value, "big", signed=True))
        except OverflowError:
            return None
        return moment.isoformat("T", "microseconds") + "Z"
    return None


def _times_as_text(rows: Sequence[EntryRow]) -> list[str | None]:
    """Each row's ``time`` as :func:`moment_text` gives it, converted once per distinct
    value (a group commit shares one moment)."""
    times = list(map(_STORED_TIME, rows))
    text = {value: moment_text(value) for value in set(times)}
    return list(map(text.__getitem__, times))


def _rfc3339(moment: datetime) -> str:
    """As :func:`gateway.audit.store.rfc3339_micro` writes it, but cheap per row.

    SQLite hands back naive UTC, PostgreSQL aware datetimes (in the session's zone).
    """
    if moment.tzinfo is not None and moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _subject(subject: Any) -> tuple[str | None, str | None]:
    """(data key id, sealed pseudonym) named by a body's ``subject`` field, or (None, None)."""
    if not isinstance(subject, dict):
        return None, None
    key_id = subject.get("key")
    sealed = subject.get("sealed")
    return (
        str(key_id) if key_id is not None else None,
        str(sealed) if isinstance(sealed, str) else None,
    )
