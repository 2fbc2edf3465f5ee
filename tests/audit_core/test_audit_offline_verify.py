"""Offline verification of an export: every kind of tampering is found and located."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.core.canonical import leaf_hash
from gateway.audit.core.checkpoint_format import Checkpoint, public_jwk, sign_checkpoint
from gateway.audit.core.merkle import root_from_leaves
from gateway.audit.core.offline_verify import (
    VerifyResult,
    checkpoint_line,
    entry_line,
    verify_export,
    verify_export_file,
    write_export,
)
from gateway.audit.vault import DataKey, KeyErased, open_sealed, seal

N = 300
EVERY = 50
KEY = Ed25519PrivateKey.generate()
JWKS = {"keys": [public_jwk(KEY.public_key())]}
MASTER = b"\x07" * 32
SUBJECT_KEY = DataKey.generate("subject-1")


def make_entry(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": f"2025-03-01T09:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
        "kind": "disclosure" if seq % 3 else "decision",
        "party": "politie",
        "employee": f"emp-{seq % 7}",
        "purpose": "triage",
        "case": f"case-{seq // 10}",
        "outcome": "denied" if seq % 5 == 0 else "ok",
        "reason": "no_rule" if seq % 5 == 0 else "",
        "trace_id": f"{seq:032x}",
        "subject": seal(SUBJECT_KEY.secret, b"999990019", b"audit:%d" % seq),
    }


ENTRIES = [make_entry(i) for i in range(N)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def head(size: int, key: Ed25519PrivateKey = KEY) -> Checkpoint:
    return sign_checkpoint(size, root_from_leaves(LEAVES[:size]), key)


HEADS = [head(size) for size in range(0, N + 1, EVERY)]


def export_lines() -> list[bytes]:
    out = io.BytesIO()
    write_export(ENTRIES, HEADS, out)
    return out.getvalue().splitlines(keepends=True)


def entry_position(lines: list[bytes], seq: int) -> int:
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if obj["type"] == "entry" and obj["entry"]["seq"] == seq:
            return i
    raise AssertionError(seq)


def check(lines: list[bytes], **kwargs: Any) -> VerifyResult:
    return verify_export(lines, JWKS, **kwargs)


def test_untouched_export_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(export_lines()))
    seen: list[int] = []
    result = verify_export_file(path, JWKS, on_progress=seen.append)
    assert result == VerifyResult(ok=True, entries=N, checkpoints=len(HEADS), verified_size=N)
    assert seen[-1] == N


def test_export_lines_carry_canonical_entries() -> None:
    lines = export_lines()
    first_entry = json.loads(lines[1])
    assert first_entry["entry"] == ENTRIES[0]
    assert first_entry["leaf_hash"] == LEAVES[0].hex()
    assert json.loads(lines[0])["type"] == "checkpoint"


def test_modified_entry_is_pinpointed() -> None:
    lines = export_lines()
    i = entry_position(lines, 123)
    lines[i] = lines[i].replace(b'"outcome":"ok"', b'"outcome":"denied"')
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, 123)
    assert "changed" in (result.problem or "")


def test_modified_entry_with_recomputed_leaf_hash_is_caught_at_the_checkpoint() -> None:
    lines = export_lines()
    i = entry_position(lines, 123)
    lines[i] = entry_line({**ENTRIES[123], "outcome": "denied"})
    result = check(lines)
    assert (result.ok, result.first_bad_seq, result.verified_size) == (False, 100, 100)
    assert "signed root at size 150" in (result.problem or "")


def test_deleted_entry() -> None:
    lines = export_lines()
    del lines[entry_position(lines, 123)]
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, 123)
    assert "deleted or reordered" in (result.problem or "")


def test_reordered_entries() -> None:
    lines = export_lines()
    i = entry_position(lines, 123)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, 123)


def test_inserted_copy_of_an_entry() -> None:
    lines = export_lines()
    lines.insert(entry_position(lines, 123), lines[entry_position(lines, 60)])
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, 123)
    assert "inserted" in (result.problem or "")


def test_inserted_entry_with_renumbered_successors() -> None:
    forged = [*ENTRIES[:123], {**ENTRIES[0], "reason": "forged"}, *ENTRIES[123:]]
    renumbered = [{**e, "seq": i} for i, e in enumerate(forged)]
    out = io.BytesIO()
    write_export(renumbered, HEADS, out)
    result = check(out.getvalue().splitlines(keepends=True))
    assert (result.ok, result.first_bad_seq) == (False, 100)


def test_truncated_entries_under_a_remaining_checkpoint() -> None:
    lines = export_lines()
    del lines[entry_position(lines, 280) : entry_position(lines, N - 1) + 1]
    assert json.loads(lines[-1])["size"] == N
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, 280)
    assert "removed from the end" in (result.problem or "")


def test_truncated_tail_without_checkpoint_is_uncovered() -> None:
    lines = export_lines()
    cut = entry_position(lines, 280)
    result = check(lines[:cut])
    assert (result.ok, result.first_bad_seq) == (False, 250)
    assert "not covered" in (result.problem or "")
    assert check(lines[:cut], allow_unsigned_tail=True).ok


def test_truncation_at_a_checkpoint_needs_the_published_head() -> None:
    lines = export_lines()
    cut = entry_position(lines, 250)
    assert check(lines[:cut]).ok
    result = check(lines[:cut], expected_head=HEADS[-1])
    assert (result.ok, result.first_bad_seq) == (False, 250)


def test_forged_checkpoint_is_refused() -> None:
    lines = export_lines()
    lines.append(checkpoint_line(head(N, key=Ed25519PrivateKey.generate())))
    result = check(lines)
    assert not result.ok
    assert result.first_bad_seq is None
    assert "no key" in (result.problem or "")


def test_checkpoint_with_a_wrong_root_is_refused() -> None:
    lines = export_lines()
    lines.append(checkpoint_line(sign_checkpoint(N, b"\x00" * 32, KEY)))
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, N)


def test_checkpoint_after_its_place_is_out_of_order() -> None:
    lines = export_lines()
    moved = lines.pop(entry_position(lines, 150) - 1)
    assert json.loads(moved)["size"] == 150
    lines.insert(entry_position(lines, 160), moved)
    result = check(lines)
    assert not result.ok
    assert "out of order" in (result.problem or "")


def test_checkpoints_first_and_plain_entry_lines_are_accepted() -> None:
    plain = [json.dumps({"type": "entry", "entry": e}).encode() + b"\n" for e in ENTRIES]
    heads = [checkpoint_line(h) for h in HEADS]
    result = check([*heads, *plain])
    assert result.ok, result.problem
    tampered = [*plain]
    tampered[77] = json.dumps({"type": "entry", "entry": {**ENTRIES[77], "party": "x"}}).encode()
    assert check([*heads, *tampered]).first_bad_seq == 50


def test_erased_subject_key_keeps_the_log_verifiable() -> None:
    token = ENTRIES[5]["subject"]
    assert open_sealed(SUBJECT_KEY, token, b"audit:5") == b"999990019"
    erased: DataKey | None = None
    with pytest.raises(KeyErased):
        open_sealed(erased, token, b"audit:5")
    assert check(export_lines()).ok


def test_garbage_line_is_reported() -> None:
    lines = export_lines()
    lines.insert(entry_position(lines, 10), b"not json\n")
    result = check(lines)
    assert (result.ok, result.first_bad_seq) == (False, 10)


def test_progress_is_reported_for_big_logs() -> None:
    entries = [{"seq": i, "kind": "case"} for i in range(70_000)]
    leaves = [leaf_hash(e) for e in entries]
    final = sign_checkpoint(len(entries), root_from_leaves(leaves), KEY)
    out = io.BytesIO()
    write_export(entries, [final], out)
    seen: list[int] = []
    callback: Callable[[int], None] = seen.append
    result = verify_export(out.getvalue().splitlines(keepends=True), JWKS, on_progress=callback)
    assert result.ok
    assert seen == [65_536, 70_000]
