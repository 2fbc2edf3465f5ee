"""The RFC 9162 §2.1 Merkle tree over a store of perfect subtrees.

A node key ``(level, index)`` names the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.
Such a subtree never changes once complete, so the store only grows and every
tree size ever signed can still be proven from it. Any range hash the RFC asks
for (``MTH(D[a:b])`` inside PATH or SUBPROOF) is aligned and therefore splits
into at most ``log2 n`` stored subtrees: a root or proof costs one
``get_nodes`` call and O(log n) hashing. An append needs only the right edge
(one subtree per set bit of the size), which a writer keeps in memory as a
:class:`TreeFrontier` and reads from the store only when it starts or finds
that another writer moved the head.

The verifiers follow the RFC's iterative algorithms (§2.1.3.2, §2.1.4.2) and
need no store, so an auditor can check proofs with the public key alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from hashlib import sha256
from typing import Protocol

from gateway.audit.core.canonical import EMPTY_ROOT, NODE_PREFIX, node_hash

NodeKey = tuple[int, int]
Node = tuple[NodeKey, bytes]
Range = tuple[int, int]


class MerkleError(ValueError):
    """A request that no tree can answer (index out of range, m > n, ...)."""


class MissingNode(LookupError):
    """The store lacks a subtree the tree size implies; the store is damaged."""

    def __init__(self, key: NodeKey) -> None:
        super().__init__(f"node store has no subtree at level {key[0]}, index {key[1]}")
        self.key = key


class NodeStore(Protocol):
    """Where completed perfect subtrees live (SQL table, dict, ...)."""

    def get_nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        """Return the hashes of the keys present; absent keys are simply left out."""
        ...


class InMemoryNodeStore:
    """A dict-backed store: offline verification, tests, benchmarks."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self.size = 0

    def get_nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        nodes = self.nodes
        return {k: nodes[k] for k in keys if k in nodes}

    def put_nodes(self, new_nodes: Iterable[Node]) -> None:
        self.nodes.update(new_nodes)

    def append(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append leaves and remember the new size (what a SQL store does in one transaction)."""
        self.put_nodes(append_batch(self.size, leaf_hashes, self))
        self.size += len(leaf_hashes)


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _subtrees(lo: int, hi: int) -> list[NodeKey]:
    """The perfect subtrees covering ``[lo, hi)``, left to right (largest first)."""
    keys: list[NodeKey] = []
    pos = lo
    length = hi - lo
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            if pos & ((1 << level) - 1):
                raise MerkleError(f"range [{lo}, {hi}) is not aligned")
            keys.append((level, pos >> level))
            pos += 1 << level
    return keys


def _fetch(store: NodeStore, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
    wanted = list(dict.fromkeys(keys))
    found = store.get_nodes(wanted)
    for key in wanted:
        if key not in found:
            raise MissingNode(key)
    return found


def _fold(keys: Sequence[NodeKey], nodes: Mapping[NodeKey, bytes]) -> bytes:
    """MTH of a range from its subtrees: the RFC's left-heavy split is a right fold."""
    acc = nodes[keys[-1]]
    for key in reversed(keys[:-1]):
        acc = node_hash(nodes[key], acc)
    return acc


def _range_hashes(ranges: Sequence[Range], store: NodeStore) -> list[bytes]:
    per_range = [_subtrees(lo, hi) for lo, hi in ranges]
    nodes = _fetch(store, [key for keys in per_range for key in keys])
    return [_fold(keys, nodes) for keys in per_range]


def root(size: int, store: NodeStore) -> bytes:
    """MTH(D[0:size]) (RFC 9162 §2.1.1)."""
    if size < 0:
        raise MerkleError("tree size cannot be negative")
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], store)[0]


def _path_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose MTH make up PATH(index, D[0:size]), in proof order."""
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def _subproof_ranges(m: int, n: int) -> list[Range]:
    """The ranges whose MTH make up SUBPROOF(m, D[0:n], true), in proof order."""
    out: list[Range] = []
    lo, hi, whole = 0, n, True
    while True:
        if m == hi:
            if not whole:
                out.append((lo, hi))
            break
        k = _largest_power_of_two_below(hi - lo)
        if m <= lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
            whole = False
    out.reverse()
    return out


def inclusion_proof(index: int, size: int, store: NodeStore) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of size {size}")
    return _range_hashes(_path_ranges(index, size), store)


def consistency_proof(m: int, n: int, store: NodeStore) -> list[bytes]:
    """PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1); empty when m is 0 or m == n."""
    if not 0 <= m <= n:
        raise MerkleError(f"no consistency proof from size {m} to size {n}")
    if m in (0, n):
        return []
    return _range_hashes(_subproof_ranges(m, n), store)


def nodes_completed_by_append(size_before: int, leaf: bytes, lookup: NodeStore) -> list[Node]:
    """The leaf node and every perfect subtree that leaf number ``size_before`` completes.

    Only the left siblings on the way up are read, in one ``get_nodes`` call.
    """
    siblings: list[NodeKey] = []
    index, level = size_before, 0
    while index & 1:
        siblings.append((level, index - 1))
        index >>= 1
        level += 1
    found = _fetch(lookup, siblings) if siblings else {}
    new: list[Node] = [((0, size_before), leaf)]
    acc = leaf
    for level, (sib_level, sib_index) in enumerate(siblings, start=1):
        acc = node_hash(found[(sib_level, sib_index)], acc)
        new.append(((level, (sib_index + 1) >> 1), acc))
    return new


def right_edge(size: int, store: NodeStore) -> list[bytes]:
    """The hashes of the perfect subtrees covering ``[0, size)``, largest first (one read)."""
    if not size:
        return []
    keys = _subtrees(0, size)
    found = _fetch(store, keys)
    return [found[key] for key in keys]


def extend_edge(size_before: int, stack: list[bytes], leaf_hashes: Iterable[bytes]) -> list[Node]:
    """Push leaves onto the right edge ``stack`` (changed in place); every node they complete."""
    new: list[Node] = []
    emit = new.append
    pop = stack.pop
    push = stack.append
    i = size_before
    for leaf in leaf_hashes:
        emit(((0, i), leaf))
        h, index, level = leaf, i, 0
        while index & 1:
            h = sha256(NODE_PREFIX + pop() + h).digest()
            index >>= 1
            level += 1
            emit(((level, index), h))
        push(h)
        i += 1
    return new


def append_batch(size_before: int, leaf_hashes: Iterable[bytes], store: NodeStore) -> list[Node]:
    """All nodes completed by appending the leaves after ``size_before`` leaves.

    The existing tree is read once: its right edge (one subtree per set bit of
    ``size_before``) is all a batch can ever need from the past.
    """
    return extend_edge(size_before, right_edge(size_before, store), leaf_hashes)


class TreeFrontier:
    """The stack of perfect subtrees on the right edge of a growing tree.

    O(log n) memory whatever the size: what full verification streams through
    (cf. the compact ranges of transparency-dev).
    """

    __slots__ = ("size", "stack")

    def __init__(self, size: int = 0, stack: Sequence[bytes] = ()) -> None:
        if len(stack) != size.bit_count():
            raise MerkleError(f"a tree of size {size} has {size.bit_count()} edge subtrees")
        self.size = size
        self.stack: list[bytes] = list(stack)

    @classmethod
    def from_store(cls, size: int, store: NodeStore) -> TreeFrontier:
        """The right edge of the stored tree of ``size`` leaves: one ``get_nodes`` call."""
        return cls(size, right_edge(size, store))

    def copy(self) -> TreeFrontier:
        return TreeFrontier(self.size, self.stack)

    def extend_nodes(self, leaf_hashes: Sequence[bytes]) -> list[Node]:
        """Append leaves; every node they complete (leaves included), as ``append_batch``."""
        nodes = extend_edge(self.size, self.stack, leaf_hashes)
        self.size += len(leaf_hashes)
        return nodes

    def append(self, leaf: bytes) -> None:
        stack = self.stack
        index = self.size
        while index & 1:
            leaf = sha256(NODE_PREFIX + stack.pop() + leaf).digest()
            index >>= 1
        stack.append(leaf)
        self.size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        stack = self.stack
        pop, push = stack.pop, stack.append
        size = self.size
        for leaf in leaf_hashes:
            h, index = leaf, size
            while index & 1:
                h = sha256(NODE_PREFIX + pop() + h).digest()
                index >>= 1
            push(h)
            size += 1
        self.size = size

    def root(self) -> bytes:
        stack = self.stack
        if not stack:
            return EMPTY_ROOT
        acc = stack[-1]
        for h in reversed(stack[:-1]):
            acc = sha256(NODE_PREFIX + h + acc).digest()
        return acc


def root_from_leaves(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a stream of leaf hashes in O(log n) memory."""
    frontier = TreeFrontier()
    frontier.extend(leaf_hashes)
    return frontier.root()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf`` at ``index`` under ``root_hash``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of size ``n`` an append-only extension of size ``m``?"""
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and root_m == root_n
    if m == 0:
        return not proof and root_m == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root_m and sr == root_n and sn == 0
