"""RFC 6962 Merkle tree maths, standard library only: the README's independent check mirrors it.

    leaf hash   SHA-256(0x00 || entry bytes)                      (RFC 6962 section 2.1)
    node hash   SHA-256(0x01 || left || right)
    empty tree  SHA-256(b"")
    MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n

Proofs are built as RFC 6962 sections 2.1.1 (PATH) and 2.1.2 (PROOF) define them, and checked as
RFC 9162 sections 2.1.3.2 and 2.1.4.2 do. Builders take a `subtree(start, end)` function giving
MTH(D[start:end]), so a file-backed log (log.py) and a list of leaf hashes share one algorithm; the
verifiers need nothing but the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Subtree = Callable[[int, int], bytes]  # MTH(D[start:end]) of the tree being proved


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two strictly below size (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaves whose leaf hashes are given (leaf_hash of each entry)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:  # pairing left to right and carrying an odd last node up gives RFC 6962's MTH
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[size]) of RFC 6962 section 2.1.1, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(old_size: int, new_size: int, subtree: Subtree) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 6962 section 2.1.2; empty when old_size is 0 or new_size."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"a tree of size {old_size} is not a prefix of one of size {new_size}")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True  # SUBPROOF(m, D[start:end], complete)
    while m != end:
        k = split(end - start)
        if m - start <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start, complete = start + k, False
    if not complete:
        path.append(subtree(start, end))
    path.reverse()
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: whether `leaf` (a leaf hash) is leaf `index` of the tree (size, root)."""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: whether the tree (new_size, new_root) only appended to (old_size, old_root).

    The equal and empty cases, which the RFC leaves to the caller: a tree is consistent with itself
    (empty proof, equal roots), and every tree with the empty one (empty proof, old_root = EMPTY_ROOT)."""
    if not 0 <= old_size <= new_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is itself a node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


class MemoryTree:
    """Every complete subtree of a list of leaf hashes, kept by level: the in-memory twin of the
    log's level files, for tests, `log verify` and a reader whose level files are behind."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size = len(leaf_hashes)
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def subtree(self, start: int, end: int) -> bytes:
        return subtree_hash(start, end, self.node)

    def root(self, size: int | None = None) -> bytes:
        return subtree_hash(0, self.size if size is None else size, self.node)


def subtree_hash(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[start:end]) from the complete subtrees `node(level, index)` (the hash of leaves
    index*2^level .. (index+1)*2^level): one read for an aligned complete subtree, else its split."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    level = size.bit_length() - 1
    if size == 1 << level and start % size == 0:
        return node(level, start >> level)
    k = split(size)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over a list of leaf hashes."""
    return inclusion_path(index, len(leaf_hashes), MemoryTree(leaf_hashes).subtree)


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) over a list of leaf hashes."""
    return consistency_path(old_size, len(leaf_hashes), MemoryTree(leaf_hashes).subtree)
