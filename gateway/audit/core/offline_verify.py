"""Verify an exported audit log with nothing but the JWKS (promise 6).

Export format: JSON Lines, UTF-8, one object per line, in log order.

``{"type":"entry","seq":N,"leaf_hash":HEX,"entry":ENTRY}``
    ``ENTRY`` is the audit entry exactly as stored, written as its RFC 8785
    canonical JSON; it contains its own ``"seq"`` (its 0-based leaf index).
    The leaf is ``SHA-256(0x00 || canonical(ENTRY))``. The outer ``seq`` and
    ``leaf_hash`` are hints only: they let a verifier point at the exact entry
    that was edited, and let it hash the entry bytes without re-encoding them.
    A line may omit both (``{"type":"entry","entry":{...}}``); it is then
    parsed and canonicalised, which is slower but equally strict.
``{"type":"checkpoint","size":S,"root_hash":HEX,"time":T,"kid":K,"signature":SIG}``
    A signed tree head (see :mod:`gateway.audit.core.checkpoint_format`), written right
    after the entry with ``seq == S - 1`` (size 0: before the first entry).
    A checkpoint may also come earlier than that point, never later.

Nothing is trusted but the signatures: every root is recomputed from the
entries (streaming, O(log n) memory) and compared with every checkpoint. An
edited, deleted, inserted, reordered or truncated entry changes a root or
breaks the ``seq`` order; entries not covered by any checkpoint fail too,
unless the caller explicitly allows an unsigned tail. Truncation of the tail
*together with* its checkpoints is only visible against a head obtained
elsewhere, which is what ``expected_head`` is for.
"""

from __future__ import annotations

import json
from binascii import hexlify
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any, BinaryIO

from gateway.audit.core.canonical import EMPTY_ROOT, LEAF_PREFIX, NODE_PREFIX, canonical_bytes
from gateway.audit.core.checkpoint_format import Checkpoint, CheckpointError, verify_checkpoint

_ENTRY_HEAD = b'{"type":"entry","seq":%d,"leaf_hash":"'
_ENTRY_MID = b'","entry":'
_PROGRESS_EVERY = 1 << 16


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    verified_size: int = 0
    """Entries ``[0, verified_size)`` are covered by a checkpoint whose signature and root hold."""


def entry_line(entry: Mapping[str, Any]) -> bytes:
    """One export line for an entry as stored (it must carry its ``seq``)."""
    return entry_line_from_canonical(int(entry["seq"]), canonical_bytes(entry))


def entry_line_from_canonical(seq: int, canonical: bytes) -> bytes:
    """One export line when the stored canonical bytes are at hand (no re-encoding)."""
    leaf = hexlify(sha256(LEAF_PREFIX + canonical).digest())
    return (_ENTRY_HEAD % seq) + leaf + _ENTRY_MID + canonical + b"}\n"


def checkpoint_line(checkpoint: Checkpoint) -> bytes:
    return canonical_bytes({"type": "checkpoint", **checkpoint.to_json()}) + b"\n"


def write_export(
    entries: Iterable[Mapping[str, Any]], checkpoints: Iterable[Checkpoint], out: BinaryIO
) -> None:
    """Write entries in seq order with each checkpoint placed where its size is reached."""
    heads = sorted(checkpoints, key=lambda c: c.size)
    pos = 0
    while pos < len(heads) and heads[pos].size == 0:
        out.write(checkpoint_line(heads[pos]))
        pos += 1
    for written, entry in enumerate(entries, start=1):
        out.write(entry_line(entry))
        while pos < len(heads) and heads[pos].size == written:
            out.write(checkpoint_line(heads[pos]))
            pos += 1
    for head in heads[pos:]:
        out.write(checkpoint_line(head))


class _Failed(Exception):
    def __init__(self, first_bad_seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.first_bad_seq = first_bad_seq
        self.problem = problem


class _Verifier:
    def __init__(self, jwks: Mapping[str, Any], on_progress: Callable[[int], None] | None) -> None:
        self.jwks = jwks
        self.on_progress = on_progress
        self.count = 0
        self.stack: list[bytes] = []
        self.pending: dict[int, list[Checkpoint]] = {}
        self.checkpoints = 0
        self.verified_size = 0
        self.next_progress = _PROGRESS_EVERY

    def expect(self, head: Checkpoint) -> None:
        """A head obtained elsewhere (e.g. the published latest): the export must reach it."""
        self._signed(head, "the expected head")
        self._place(head, "the expected head")

    def next_stop(self) -> int:
        nearest = min(self.pending, default=self.next_progress)
        return min(nearest, self.next_progress) if self.on_progress else nearest

    def root(self) -> bytes:
        stack = self.stack
        if not stack:
            return EMPTY_ROOT
        acc = stack[-1]
        for h in reversed(stack[:-1]):
            acc = sha256(NODE_PREFIX + h + acc).digest()
        return acc

    def _signed(self, head: Checkpoint, where: str) -> None:
        try:
            verify_checkpoint(head, self.jwks)
        except CheckpointError as exc:
            raise _Failed(None, f"{where} (size {head.size}): {exc}") from exc

    def at_stop(self) -> None:
        count = self.count
        if self.on_progress is not None and count >= self.next_progress:
            self.on_progress(count)
            self.next_progress = count + _PROGRESS_EVERY
        heads = self.pending.pop(count, None)
        if heads:
            root = self.root()
            for head in heads:
                self._check_root(head, root)

    def _check_root(self, head: Checkpoint, root: bytes) -> None:
        if head.root() != root:
            start = self.verified_size
            raise _Failed(
                start,
                f"entries {start}..{head.size - 1} do not match the signed root "
                f"at size {head.size}",
            )
        self.verified_size = max(self.verified_size, head.size)

    def checkpoint(self, obj: dict[str, Any], lineno: int) -> None:
        try:
            head = Checkpoint.from_json(obj)
        except CheckpointError as exc:
            raise _Failed(None, f"line {lineno}: malformed checkpoint: {exc}") from exc
        self._signed(head, f"checkpoint on line {lineno}")
        self.checkpoints += 1
        self._place(head, f"checkpoint on line {lineno}")

    def _place(self, head: Checkpoint, where: str) -> None:
        if head.size == self.count:
            self._check_root(head, self.root())
        elif head.size > self.count:
            self.pending.setdefault(head.size, []).append(head)
        else:
            raise _Failed(
                None,
                f"{where} (size {head.size}) comes after entry {self.count - 1}: "
                "the export is out of order",
            )

    def slow_entry(self, obj: dict[str, Any], lineno: int) -> bytes:
        """Parse, check ``seq`` and canonicalise one entry line; returns its leaf hash."""
        count = self.count
        entry = obj.get("entry")
        if not isinstance(entry, dict):
            raise _Failed(count, f"line {lineno}: entry line without an entry object")
        seq = entry.get("seq")
        if type(seq) is not int:
            raise _Failed(count, f"line {lineno}: entry without an integer seq")
        if seq > count:
            raise _Failed(count, f"expected seq {count}, found {seq}: entries deleted or reordered")
        if seq < count:
            raise _Failed(
                count, f"expected seq {count}, found {seq}: entries inserted, repeated or reordered"
            )
        if "seq" in obj and obj["seq"] != seq:
            raise _Failed(count, f"line {lineno}: outer seq differs from the entry's seq")
        leaf = sha256(LEAF_PREFIX + canonical_bytes(entry)).digest()
        hint = obj.get("leaf_hash")
        if hint is not None and hint != leaf.hex():
            raise _Failed(count, f"entry {count} was changed after it was logged")
        return leaf

    def run(self, lines: Iterable[bytes]) -> None:
        stack = self.stack
        pop, push = stack.pop, stack.append
        count = self.count
        stop = self.next_stop()
        for lineno, raw in enumerate(lines, start=1):
            head = _ENTRY_HEAD % count
            p = len(head)
            end = len(raw) - 1
            if end > 0 and raw[end] == 10:
                end -= 1
            leaf = None
            if raw.startswith(head) and raw[p + 64 : p + 74] == _ENTRY_MID and raw[end] == 125:
                leaf = sha256(LEAF_PREFIX + raw[p + 74 : end]).digest()
                if hexlify(leaf) != raw[p : p + 64]:
                    leaf = None
            if leaf is None:
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError as exc:
                    raise _Failed(count, f"line {lineno} is not valid JSON") from exc
                kind = obj.get("type") if isinstance(obj, dict) else None
                if kind == "checkpoint":
                    self.count = count
                    self.checkpoint(obj, lineno)
                    stop = self.next_stop()
                    continue
                if kind != "entry":
                    raise _Failed(count, f"line {lineno} is neither an entry nor a checkpoint")
                self.count = count
                leaf = self.slow_entry(obj, lineno)
            index = count
            while index & 1:
                leaf = sha256(NODE_PREFIX + pop() + leaf).digest()
                index >>= 1
            push(leaf)
            count += 1
            if count == stop:
                self.count = count
                self.at_stop()
                stop = self.next_stop()
        self.count = count

    def finish(self, allow_unsigned_tail: bool) -> None:
        if self.pending:
            size = min(self.pending)
            raise _Failed(
                self.count,
                f"a checkpoint covers {size} entries but the export ends after {self.count}: "
                "entries were removed from the end",
            )
        if self.count > self.verified_size and not allow_unsigned_tail:
            raise _Failed(
                self.verified_size,
                f"entries {self.verified_size}..{self.count - 1} are not covered by a signed "
                "checkpoint",
            )
        if self.on_progress is not None:
            self.on_progress(self.count)


def verify_export(
    lines: Iterable[bytes],
    jwks: Mapping[str, Any],
    *,
    on_progress: Callable[[int], None] | None = None,
    expected_head: Checkpoint | None = None,
    allow_unsigned_tail: bool = False,
) -> VerifyResult:
    """Check every leaf, every ``seq`` and every checkpoint; stop at the first problem."""
    verifier = _Verifier(jwks, on_progress)
    try:
        if expected_head is not None:
            verifier.expect(expected_head)
        verifier.run(lines)
        verifier.finish(allow_unsigned_tail)
    except _Failed as failure:
        return VerifyResult(
            ok=False,
            entries=verifier.count,
            checkpoints=verifier.checkpoints,
            first_bad_seq=failure.first_bad_seq,
            problem=failure.problem,
            verified_size=verifier.verified_size,
        )
    return VerifyResult(
        ok=True,
        entries=verifier.count,
        checkpoints=verifier.checkpoints,
        verified_size=verifier.verified_size,
    )


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


def verify_export_file(
    path: str | Path,
    jwks: Mapping[str, Any],
    *,
    on_progress: Callable[[int], None] | None = None,
    expected_head: Checkpoint | None = None,
    allow_unsigned_tail: bool = False,
) -> VerifyResult:
    return verify_export(
        _lines(Path(path)),
        jwks,
        on_progress=on_progress,
        expected_head=expected_head,
        allow_unsigned_tail=allow_unsigned_tail,
    )
