"""RFC 6962 maths: known answers (the certificate-transparency reference vectors) and properties
over every tree size up to a bound: each proof verifies, and nothing else does."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.store import merkle

# The inputs and answers of the reference vectors (certificate-transparency, trillian's testonly).
LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
          bytes(range(0x60, 0x70))]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATH_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CONSISTENCY_6_TO_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
MAX_SIZE = 40


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 section 2.1 writes it, recursively: the oracle for `root`."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(str(i).encode()) for i in range(n)]


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def test_known_answers() -> None:
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    leaf_hashes = [merkle.leaf_hash(d) for d in LEAVES]
    assert [merkle.root(leaf_hashes[:n]).hex() for n in range(1, 9)] == ROOTS
    assert [p.hex() for p in merkle.inclusion_proof(0, leaf_hashes)] == PATH_0_OF_8
    assert [p.hex() for p in merkle.consistency_proof(1, leaf_hashes)] == PATH_0_OF_8  # 1 -> 8 is leaf 0's path
    assert [p.hex() for p in merkle.consistency_proof(6, leaf_hashes)] == CONSISTENCY_6_TO_8
    root8 = bytes.fromhex(ROOTS[7])
    assert merkle.verify_consistency(6, 8, bytes.fromhex(ROOTS[5]), root8, merkle.consistency_proof(6, leaf_hashes))


def test_roots_match_the_rfc_definition_for_every_size() -> None:
    for n in range(MAX_SIZE + 1):
        leaves = [bytes([i]) * (i % 3) for i in range(n)]
        assert merkle.root([merkle.leaf_hash(x) for x in leaves]) == reference_root(leaves)
        assert merkle.MemoryTree([merkle.leaf_hash(x) for x in leaves]).root() == reference_root(leaves)


def test_every_inclusion_proof_verifies_and_nothing_else_does() -> None:
    every = hashes(MAX_SIZE)
    roots = {n: merkle.root(every[:n]) for n in range(1, MAX_SIZE + 1)}  # the real head of each size
    for size in range(1, MAX_SIZE + 1):
        leaves = every[:size]
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, roots[size])
            for other in range(size):  # another index
                if other != index:
                    assert not merkle.verify_inclusion(leaves[index], other, size, proof, roots[size])
            for other in range(1, MAX_SIZE + 1):  # another size, with that size's real root
                if other != size:
                    assert not merkle.verify_inclusion(leaves[index], index, other, proof, roots[other])
            assert not merkle.verify_inclusion(leaves[(index + 1) % size], index, size, proof, roots[size]) or size == 1
            assert not merkle.verify_inclusion(leaves[index], index, size, [*proof, leaves[0]], roots[size])
            if proof:
                assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], roots[size])


def test_every_consistency_proof_verifies_and_nothing_else_does() -> None:
    for new in range(1, MAX_SIZE + 1):
        leaves = hashes(new)
        roots = [merkle.root(leaves[:n]) for n in range(new + 1)]
        for old in range(new + 1):
            proof = merkle.consistency_proof(old, leaves)
            assert merkle.verify_consistency(old, new, roots[old], roots[new], proof)
            for other in range(1, new + 1):
                if other != old and (proof or other != new):  # an empty proof is also new -> new's
                    assert not merkle.verify_consistency(other, new, roots[other], roots[new], proof)
            if 0 < old < new:
                assert not merkle.verify_consistency(old, new, roots[old], roots[new], proof[:-1])
                assert not merkle.verify_consistency(old, new, roots[old], roots[new], [*proof, roots[0]])
                assert not merkle.verify_consistency(old, new, roots[new], roots[old], proof)  # swapped roots
            assert not merkle.verify_consistency(new, old, roots[new], roots[old], proof) or old == new


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 200), data=st.data())
def test_a_flipped_bit_anywhere_fails_the_inclusion_proof(size: int, data: st.DataObject) -> None:
    leaves = hashes(size)
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(index, leaves)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
    bit = data.draw(st.integers(0, 8 * 32 * (len(proof) + 2) - 1))
    part, within = divmod(bit, 256)
    if part < len(proof):
        proof = [flip(p, within) if i == part else p for i, p in enumerate(proof)]
        assert not merkle.verify_inclusion(leaves[index], index, size, proof, root)
    elif part == len(proof):
        assert not merkle.verify_inclusion(flip(leaves[index], within), index, size, proof, root)
    else:
        assert not merkle.verify_inclusion(leaves[index], index, size, proof, flip(root, within))


@settings(max_examples=300, deadline=None)
@given(new=st.integers(2, 200), data=st.data())
def test_a_flipped_bit_anywhere_fails_the_consistency_proof(new: int, data: st.DataObject) -> None:
    leaves = hashes(new)
    old = data.draw(st.integers(1, new - 1))
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    proof = merkle.consistency_proof(old, leaves)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    bit = data.draw(st.integers(0, 8 * 32 * (len(proof) + 2) - 1))
    part, within = divmod(bit, 256)
    if part < len(proof):
        proof = [flip(p, within) if i == part else p for i, p in enumerate(proof)]
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof)
    elif part == len(proof):
        assert not merkle.verify_consistency(old, new, flip(old_root, within), new_root, proof)
    else:
        assert not merkle.verify_consistency(old, new, old_root, flip(new_root, within), proof)


def test_edges() -> None:
    leaves = hashes(5)
    root = merkle.root(leaves)
    assert not merkle.verify_inclusion(leaves[0], 5, 5, [], root)  # index out of the tree
    assert not merkle.verify_inclusion(leaves[0], -1, 5, [], root)
    assert not merkle.verify_inclusion(leaves[0], 0, 5, [b"short"], root)
    assert merkle.verify_inclusion(leaves[0], 0, 1, [], leaves[0])  # a one-leaf tree: the root is the leaf
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])  # every tree extends the empty one
    assert not merkle.verify_consistency(0, 5, root, root, [])
    assert merkle.verify_consistency(5, 5, root, root, [])
    assert not merkle.verify_consistency(5, 5, root, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(2, 5, merkle.root(leaves[:2]), root, [])  # an empty proof proves nothing
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_proof(5, leaves)
    with pytest.raises(ValueError, match="not a prefix"):
        merkle.consistency_proof(6, leaves)
