"""The store-based tree against the RFC 9162 definitions, written out naively here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.core.canonical import EMPTY_ROOT, canonical_bytes, leaf_hash, node_hash
from gateway.audit.core.merkle import (
    InMemoryNodeStore,
    MerkleError,
    MissingNode,
    NodeKey,
    TreeFrontier,
    append_batch,
    consistency_proof,
    inclusion_proof,
    nodes_completed_by_append,
    root,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# --- RFC 9162 §2.1, straight from the text, over a list of leaf *inputs* ---------


def ref_h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return ref_h(b"")
    if n == 1:
        return ref_h(b"\x00" + d[0])
    k = ref_k(n)
    return ref_h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# ---------------------------------------------------------------------------------


def inputs(n: int) -> list[bytes]:
    return [b"leaf-%d" % i for i in range(n)]


def store_of(data: list[bytes]) -> InMemoryNodeStore:
    store = InMemoryNodeStore()
    for chunk_start in range(0, len(data), 7):
        store.append([ref_h(b"\x00" + x) for x in data[chunk_start : chunk_start + 7]])
    return store


class CountingStore(InMemoryNodeStore):
    """A real dict store that also records what was asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.asked: list[NodeKey] = []

    def get_nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        self.calls += 1
        self.asked.extend(keys)
        return super().get_nodes(keys)


def test_hash_prefixes_follow_rfc9162() -> None:
    assert leaf_hash({"seq": 0}) == ref_h(b"\x00" + b'{"seq":0}')
    assert node_hash(b"a", b"b") == ref_h(b"\x01ab")
    assert ref_h(b"") == EMPTY_ROOT
    expected = '{"a":[true,null,"é"],"b":1}'.encode()
    assert canonical_bytes({"b": 1, "a": [True, None, "é"]}) == expected


def test_empty_tree() -> None:
    store = InMemoryNodeStore()
    assert root(0, store) == ref_mth([]) == root_from_leaves([])
    with pytest.raises(MerkleError):
        inclusion_proof(0, 0, store)


MAX = 70
ALL_DATA = inputs(MAX)
BIG_STORE = store_of(ALL_DATA)


@pytest.mark.parametrize("n", range(1, MAX + 1))
def test_root_and_proofs_match_reference_for_every_size(n: int) -> None:
    d = ALL_DATA[:n]
    leaves = [ref_h(b"\x00" + x) for x in d]
    expected_root = ref_mth(d)
    assert root(n, BIG_STORE) == expected_root
    assert root(n, store_of(d)) == expected_root
    assert root_from_leaves(leaves) == expected_root
    for m in range(n):
        proof = inclusion_proof(m, n, BIG_STORE)
        assert proof == ref_path(m, d)
        assert verify_inclusion(leaves[m], m, n, proof, expected_root)
        if m + 1 < n:
            assert not verify_inclusion(leaves[m], m + 1, n, proof, expected_root)
        assert not verify_inclusion(leaves[(m + 1) % n], m, n, proof, expected_root) or n == 1
        if proof:
            bad = [*proof]
            bad[-1] = bytes(32)
            assert not verify_inclusion(leaves[m], m, n, bad, expected_root)
            assert not verify_inclusion(leaves[m], m, n, proof[:-1], expected_root)
        assert not verify_inclusion(leaves[m], m, n, [*proof, bytes(32)], expected_root)
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, BIG_STORE)
        assert proof == (ref_proof(m, d) if m < n else [])
        root_m = ref_mth(d[:m])
        assert verify_consistency(m, n, root_m, expected_root, proof)
        assert not verify_consistency(m, n, bytes(32), expected_root, proof)
        assert not verify_consistency(m, n, root_m, bytes(32), proof)
        if proof:
            bad = [*proof]
            bad[0] = bytes(32)
            assert not verify_consistency(m, n, root_m, expected_root, bad)
            assert not verify_consistency(m, n, root_m, expected_root, proof[:-1])
            assert not verify_consistency(m, n, expected_root, root_m, proof)


def test_proofs_need_one_store_read() -> None:
    store = CountingStore()
    store.append([ref_h(b"\x00" + x) for x in ALL_DATA])
    store.calls = 0
    root(69, store)
    inclusion_proof(37, 69, store)
    consistency_proof(13, 69, store)
    assert store.calls == 3


def test_empty_and_equal_consistency() -> None:
    r = ref_mth(ALL_DATA[:5])
    assert verify_consistency(0, 5, EMPTY_ROOT, r, [])
    assert verify_consistency(5, 5, r, r, [])
    assert not verify_consistency(5, 5, r, r, [r])
    assert not verify_consistency(6, 5, r, r, [])
    assert not verify_consistency(3, 5, r, r, [])
    with pytest.raises(MerkleError):
        consistency_proof(6, 5, BIG_STORE)


def test_missing_node_is_reported() -> None:
    store = store_of(ALL_DATA[:10])
    del store.nodes[(3, 0)]
    with pytest.raises(MissingNode) as info:
        root(10, store)
    assert info.value.key == (3, 0)


def test_single_appends_match_batch_appends() -> None:
    leaves = [ref_h(b"\x00" + x) for x in ALL_DATA]
    one_by_one = InMemoryNodeStore()
    for i, leaf in enumerate(leaves):
        one_by_one.put_nodes(nodes_completed_by_append(i, leaf, one_by_one))
    batch = InMemoryNodeStore()
    batch.put_nodes(append_batch(0, leaves, batch))
    assert one_by_one.nodes == batch.nodes
    assert root(MAX, one_by_one) == ref_mth(ALL_DATA)


def test_append_reads_only_the_right_edge() -> None:
    store = CountingStore()
    store.append([ref_h(b"\x00" + x) for x in ALL_DATA[:45]])
    store.calls = 0
    store.asked.clear()
    store.append([ref_h(b"\x00" + x) for x in ALL_DATA[45:]])
    assert store.calls == 1
    assert sorted(store.asked) == sorted([(5, 0), (3, 4), (2, 10), (0, 44)])


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.data())
def test_random_sizes_against_reference(n: int, data: st.DataObject) -> None:
    d = [b"x%d" % i for i in range(n)]
    store = InMemoryNodeStore()
    cut = data.draw(st.integers(min_value=0, max_value=n))
    leaves = [ref_h(b"\x00" + x) for x in d]
    store.append(leaves[:cut])
    store.append(leaves[cut:])
    expected = ref_mth(d)
    assert root(n, store) == expected
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = inclusion_proof(index, n, store)
    assert proof == ref_path(index, d)
    assert verify_inclusion(leaves[index], index, n, proof, expected)
    m = data.draw(st.integers(min_value=1, max_value=n))
    cproof = consistency_proof(m, n, store)
    assert cproof == (ref_proof(m, d) if m < n else [])
    assert verify_consistency(m, n, root(m, store), expected, cproof)


def test_hundred_thousand_appends_match_streaming_root() -> None:
    leaves = [hashlib.sha256(b"\x00%d" % i).digest() for i in range(100_000)]
    store = InMemoryNodeStore()
    for start in range(0, len(leaves), 1000):
        store.append(leaves[start : start + 1000])
    expected = root_from_leaves(leaves)
    assert root(100_000, store) == expected
    frontier = TreeFrontier()
    for leaf in leaves[:65_537]:
        frontier.append(leaf)
    assert frontier.root() == root(65_537, store)
