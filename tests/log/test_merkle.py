"""The RFC 9162 Merkle tree: published vectors, an RFC-literal reference, exhaustive proofs, tampering, pymerkle.

The reference implementation below is written from the definitions of RFC 9162 §2.1.1 (MTH), §2.1.3.1
(PATH) and §2.1.4.1 (PROOF / SUBPROOF) over a plain list of leaf hashes, with its own hashing, so it shares
nothing with the planning code under test.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.log.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    append_plan,
    consistency_plan,
    consistency_proof_from_nodes,
    inclusion_plan,
    inclusion_proof_from_nodes,
    leaf_hash,
    new_nodes,
    node_hash,
    perfect_subtrees,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_from_nodes,
    root_plan,
    verify_consistency,
    verify_inclusion,
)

# ------------------------------------------------------------------------------------------------
# Published vectors: the certificate-transparency reference data, as kept by transparency-dev/merkle
#   testonly/constants.go      LeafInputs, NodeHashes, RootHashes
#   proof/verify_test.go       inclusionProofs (leaf numbers there are 1-based), consistencyProofs, roots
#   testonly/reference_test.go TestRefInclusionProof, TestRefConsistencyProof
# https://github.com/transparency-dev/merkle — the certificate-transparency project's Merkle test data, carried
# on through google/trillian into transparency-dev.
# ------------------------------------------------------------------------------------------------

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]

NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

# RootHashes(), indexed by tree size from 0.
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]

# (0-based leaf index, tree size, audit path): reference_test.go TestRefInclusionProof, which also holds every
# verify_test.go inclusionProofs entry ({1,8}, {6,8}, {3,3}, {2,5} there, 1-based).
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# (first, second, proof): verify_test.go consistencyProofs and reference_test.go.
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# verify_test.go's sha256SomeHash: a 32-byte value that is no node of any test tree.
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _unhex(hashes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


@pytest.fixture(scope="module")
def ct_tree() -> MemoryTree:
    tree = MemoryTree()
    for data in LEAF_INPUTS:
        tree.append(data)
    return tree


# ------------------------------------------------------------------------------------------------
# The reference: RFC 9162 §2.1 definitions, literally
# ------------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.leaves = leaf_hashes
        self.mth = functools.cache(self._mth)

    def _mth(self, a: int, b: int) -> bytes:
        n = b - a
        if n == 0:
            return _sha256(b"")
        if n == 1:
            return self.leaves[a]
        k = _k(n)
        return _sha256(b"\x01" + self.mth(a, a + k) + self.mth(a + k, b))

    def path(self, m: int, a: int, b: int) -> list[bytes]:
        n = b - a
        if n == 1:
            return []
        k = _k(n)
        if m < k:
            return [*self.path(m, a, a + k), self.mth(a + k, b)]
        return [*self.path(m - k, a + k, b), self.mth(a, a + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self._subproof(m, 0, n, True) if 0 < m < n else []

    def _subproof(self, m: int, a: int, b: int, whole: bool) -> list[bytes]:
        n = b - a
        if m == n:
            return [] if whole else [self.mth(a, b)]
        k = _k(n)
        if m <= k:
            return [*self._subproof(m, a, a + k, whole), self.mth(a + k, b)]
        return [*self._subproof(m - k, a + k, b, False), self.mth(a, a + k)]


def _entries(n: int) -> list[bytes]:
    return [f"公告 {i}".encode() for i in range(n)]


EXHAUSTIVE = 256
TAMPER = 128


@pytest.fixture(scope="module")
def big_tree() -> tuple[MemoryTree, Reference]:
    tree = MemoryTree()
    tree.extend(_entries(EXHAUSTIVE))
    return tree, Reference([leaf_hash(e) for e in _entries(EXHAUSTIVE)])


def _flip(digest: bytes, bit: int) -> bytes:
    return bytes([digest[0] ^ (1 << bit)]) + digest[1:]


# ------------------------------------------------------------------------------------------------
# Vectors
# ------------------------------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert EMPTY_ROOT == ROOTS[0]
    assert leaf_hash(b"") == bytes.fromhex(NODE_HASHES[0][0])
    assert node_hash(bytes.fromhex(NODE_HASHES[0][0]), bytes.fromhex(NODE_HASHES[0][1])) == bytes.fromhex(
        NODE_HASHES[1][0]
    )


def test_roots_of_every_size(ct_tree: MemoryTree) -> None:
    hashes = [leaf_hash(d) for d in LEAF_INPUTS]
    for size, root in enumerate(ROOTS):
        assert ct_tree.root(size) == root
        assert root_from_leaf_hashes(hashes[:size]) == root
        assert root_from_nodes(size, ct_tree.nodes) == root


def test_stored_nodes_are_the_reference_node_hashes(ct_tree: MemoryTree) -> None:
    expected = {(level, i): bytes.fromhex(h) for level, row in enumerate(NODE_HASHES) for i, h in enumerate(row)}
    assert dict(ct_tree.nodes) == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_vectors(ct_tree: MemoryTree, index: int, size: int, path: list[str]) -> None:
    proof = ct_tree.inclusion_proof(index, size)
    assert proof == _unhex(path)
    leaf = leaf_hash(LEAF_INPUTS[index])
    assert verify_inclusion(leaf, index, size, proof, ROOTS[size])
    assert root_from_inclusion_proof(leaf, index, size, proof) == ROOTS[size]


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_VECTORS)
def test_consistency_vectors(ct_tree: MemoryTree, first: int, second: int, path: list[str]) -> None:
    proof = ct_tree.consistency_proof(first, second)
    assert proof == _unhex(path)
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


def _corrupt_inclusion(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):
    """verify_test.go corruptInclusionProof: every probe must be refused."""
    yield "index - 1", (leaf, index - 1, size, proof, root)
    yield "index + 1", (leaf, index + 1, size, proof, root)
    yield "index ^ 2", (leaf, index ^ 2, size, proof, root)
    yield "size * 2", (leaf, index, size * 2, proof, root)
    yield "size // 2", (leaf, index, size // 2, proof, root)
    yield "wrong leaf", (b"WrongLeaf", index, size, proof, root)
    yield "wrong 32-byte leaf", (SOME_HASH, index, size, proof, root)
    yield "empty root", (leaf, index, size, proof, EMPTY_ROOT)
    yield "random root", (leaf, index, size, proof, SOME_HASH)
    yield "trailing garbage", (leaf, index, size, [*proof, b""], root)
    yield "trailing root", (leaf, index, size, [*proof, root], root)
    yield "preceding garbage", (leaf, index, size, [b"", *proof], root)
    yield "preceding root", (leaf, index, size, [root, *proof], root)
    for i in range(len(proof)):
        yield f"proof[{i}] bit 3", (leaf, index, size, [*proof[:i], _flip(proof[i], 3), *proof[i + 1 :]], root)
    if proof:
        yield "removed component", (leaf, index, size, proof[:-1], root)
    if len(proof) > 1:
        yield "inserted component", (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)


def _corrupt_consistency(first: int, second: int, root1: bytes, root2: bytes, proof: list[bytes]):
    """verify_test.go corruptConsistencyProof: every probe must be refused."""
    yield "first - 1", (first - 1, second, root1, root2, proof)
    yield "first + 1", (first + 1, second, root1, root2, proof)
    yield "first ^ 2", (first ^ 2, second, root1, root2, proof)
    yield "second * 2", (first, second * 2, root1, root2, proof)
    yield "second // 2", (first, second // 2, root1, root2, proof)
    yield "wrong root1", (first, second, b"WrongRoot", root2, proof)
    yield "wrong root2", (first, second, root1, b"WrongRoot", proof)
    yield "swapped roots", (first, second, root2, root1, proof)
    yield "empty proof", (first, second, root1, root2, [])
    yield "trailing garbage", (first, second, root1, root2, [*proof, b""])
    yield "trailing root1", (first, second, root1, root2, [*proof, root1])
    yield "trailing root2", (first, second, root1, root2, [*proof, root2])
    yield "preceding garbage", (first, second, root1, root2, [b"", *proof])
    yield "preceding root1", (first, second, root1, root2, [root1, *proof])
    yield "preceding root2", (first, second, root1, root2, [root2, *proof])
    yield "preceding proof[0]", (first, second, root1, root2, [proof[0], *proof])
    yield "truncated", (first, second, root1, root2, proof[:-1])
    for i in range(len(proof)):
        yield f"proof[{i}] bit 4", (first, second, root1, root2, [*proof[:i], _flip(proof[i], 4), *proof[i + 1 :]])


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS[1:])
def test_inclusion_vectors_refuse_every_corruption(index: int, size: int, path: list[str]) -> None:
    leaf = leaf_hash(LEAF_INPUTS[index])
    accepted = [
        d for d, args in _corrupt_inclusion(index, size, _unhex(path), ROOTS[size], leaf) if verify_inclusion(*args)
    ]
    assert accepted == []


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_VECTORS[1:])
def test_consistency_vectors_refuse_every_corruption(first: int, second: int, path: list[str]) -> None:
    probes = _corrupt_consistency(first, second, ROOTS[first], ROOTS[second], _unhex(path))
    assert [d for d, args in probes if verify_consistency(*args)] == []


def test_single_entry_inclusion() -> None:
    """verify_test.go TestVerifyInclusionSingleEntry: the root of a one-leaf tree is the leaf hash."""
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)
    assert not verify_inclusion(b"", 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (1, 1), (-1, 5)])
def test_inclusion_outside_the_tree_is_refused(index: int, size: int) -> None:
    for leaf, root in [(SOME_HASH, b""), (b"", EMPTY_ROOT), (SOME_HASH, EMPTY_ROOT), (SOME_HASH, SOME_HASH)]:
        assert not verify_inclusion(leaf, index, size, [], root)


def test_consistency_edge_cases() -> None:
    """verify_test.go TestVerifyConsistency, with one deliberate difference: from size 0 we also demand the
    empty tree's root (Go accepts any first root there)."""
    a, b = SOME_HASH, _flip(SOME_HASH, 0)
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 1, EMPTY_ROOT, b, [])
    assert verify_consistency(1, 1, b, b, [])
    assert not verify_consistency(0, 1, a, b, [])  # Go accepts this one
    assert not verify_consistency(0, 0, a, b, [])
    assert not verify_consistency(1, 1, a, b, [])
    assert not verify_consistency(1, 0, a, b, [])  # time travel
    assert not verify_consistency(2, 1, a, b, [])
    assert not verify_consistency(1, 2, a, b, [])  # empty proof
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])  # roots match, proof not empty
    assert not verify_consistency(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


# ------------------------------------------------------------------------------------------------
# Exhaustive: every proof of every tree up to EXHAUSTIVE leaves, against the reference
# ------------------------------------------------------------------------------------------------


def test_every_root_matches_the_reference(big_tree: tuple[MemoryTree, Reference]) -> None:
    tree, ref = big_tree
    for size in range(EXHAUSTIVE + 1):
        assert tree.root(size) == ref.mth(0, size)
        assert root_from_leaf_hashes(ref.leaves[:size]) == ref.mth(0, size)


def test_every_inclusion_proof(big_tree: tuple[MemoryTree, Reference]) -> None:
    tree, ref = big_tree
    for size in range(1, EXHAUSTIVE + 1):
        root = ref.mth(0, size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == ref.path(index, 0, size), (index, size)
            assert verify_inclusion(ref.leaves[index], index, size, proof, root), (index, size)


def test_every_consistency_proof(big_tree: tuple[MemoryTree, Reference]) -> None:
    tree, ref = big_tree
    for second in range(EXHAUSTIVE + 1):
        root2 = ref.mth(0, second)
        for first in range(second + 1):
            proof = tree.consistency_proof(first, second)
            assert proof == ref.proof(first, second), (first, second)
            assert verify_consistency(first, second, ref.mth(0, first), root2, proof), (first, second)


def test_every_tampered_inclusion_proof_is_refused(big_tree: tuple[MemoryTree, Reference]) -> None:
    tree, ref = big_tree
    for size in range(1, TAMPER + 1):
        root = ref.mth(0, size)
        for index in range(size):
            leaf, proof = ref.leaves[index], tree.inclusion_proof(index, size)
            for i, digest in enumerate(proof):
                for bit in (0, 7):
                    bad = [*proof[:i], _flip(digest, bit), *proof[i + 1 :]]
                    assert not verify_inclusion(leaf, index, size, bad, root)
            # Another index, or another size with that size's true root: refused unless the proof is that one.
            for other in {index - 1, index + 1, index ^ 1, size - 1 - index} - {index}:
                if 0 <= other < size:
                    assert not verify_inclusion(leaf, other, size, proof, root)
            for other_size in {size - 1, size + 1, 2 * size} - {size}:
                if index < other_size <= EXHAUSTIVE:
                    same = ref.path(index, 0, other_size) == proof
                    assert verify_inclusion(leaf, index, other_size, proof, ref.mth(0, other_size)) == same
            assert not verify_inclusion(leaf, index, size, [*proof, proof[-1] if proof else root], root)
            if proof:
                assert not verify_inclusion(leaf, index, size, proof[:-1], root)


def test_every_tampered_consistency_proof_is_refused(big_tree: tuple[MemoryTree, Reference]) -> None:
    tree, ref = big_tree
    for second in range(2, TAMPER + 1):
        root2 = ref.mth(0, second)
        for first in range(1, second):
            root1, proof = ref.mth(0, first), tree.consistency_proof(first, second)
            for i, digest in enumerate(proof):
                bad = [*proof[:i], _flip(digest, 5), *proof[i + 1 :]]
                assert not verify_consistency(first, second, root1, root2, bad)
            assert not verify_consistency(first, second, root1, root2, proof[:-1])
            assert not verify_consistency(first, second, root1, root2, [*proof, proof[-1]])
            assert not verify_consistency(first, second, root1, _flip(root2, 1), proof)
            assert not verify_consistency(first, second, _flip(root1, 1), root2, proof)
            for other in {first - 1, first + 1} - {0, second}:
                same = ref.proof(other, second) == proof
                assert verify_consistency(other, second, ref.mth(0, other), root2, proof) == same
            for other in {second - 1, second + 1} - {first}:
                if first < other <= EXHAUSTIVE:
                    same = ref.proof(first, other) == proof
                    assert verify_consistency(first, other, root1, ref.mth(0, other), proof) == same


# ------------------------------------------------------------------------------------------------
# Plans: the database fetches exactly these nodes
# ------------------------------------------------------------------------------------------------


class OnlyThese(dict):
    """A node mapping that records every lookup, to show the plans are exact."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.used: set[tuple[int, int]] = set()

    def __getitem__(self, key: tuple[int, int]) -> bytes:
        self.used.add(key)
        return super().__getitem__(key)


def test_proofs_use_exactly_their_plans(big_tree: tuple[MemoryTree, Reference]) -> None:
    tree, _ = big_tree
    for size in range(1, 70):
        nodes = OnlyThese({k: tree.nodes[k] for k in root_plan(size)})
        assert root_from_nodes(size, nodes) == tree.root(size)
        assert nodes.used == set(root_plan(size))
        for index in range(size):
            plan = inclusion_plan(index, size)
            nodes = OnlyThese({k: tree.nodes[k] for k in plan})
            assert inclusion_proof_from_nodes(index, size, nodes) == tree.inclusion_proof(index, size)
            assert nodes.used == set(plan) and len(plan) == len(set(plan))
        for first in range(size + 1):
            plan = consistency_plan(first, size)
            nodes = OnlyThese({k: tree.nodes[k] for k in plan})
            assert consistency_proof_from_nodes(first, size, nodes) == tree.consistency_proof(first, size)
            assert nodes.used == set(plan) and len(plan) == len(set(plan))


def _is_aligned_decomposition(start: int, end: int, nodes: list[tuple[int, int]]) -> bool:
    position = start
    for level, index in nodes:
        if index << level != position:
            return False
        position += 1 << level
    return position == end


@given(st.integers(0, 2**40), st.integers(0, 2**40))
def test_perfect_subtrees_tile_the_range_with_maximal_pieces(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    nodes = perfect_subtrees(start, end)
    assert _is_aligned_decomposition(start, end, nodes)
    # Maximal: no two neighbours are the two halves of one aligned subtree.
    for (l1, i1), (l2, i2) in itertools.pairwise(nodes):
        assert not (l1 == l2 and i1 % 2 == 0 and i2 == i1 + 1)
    if end > start:
        assert len(nodes) <= 2 * (end - start).bit_length()


def test_perfect_subtrees_refuses_backwards_ranges() -> None:
    with pytest.raises(ValueError):
        perfect_subtrees(5, 4)
    with pytest.raises(ValueError):
        perfect_subtrees(-1, 4)


def _bound(size: int) -> int:
    return 2 * math.ceil(math.log2(size)) if size > 1 else 0


def test_plan_sizes_are_logarithmic_up_to_ten_million() -> None:
    rng = random.Random(20260302)
    sizes = {10**7, 10**7 - 1, 2**23, 2**23 - 1, 2**23 + 1, 5_592_405, 1, 2, 3}
    sizes |= {rng.randrange(1, 10**7 + 1) for _ in range(300)}
    for size in sorted(sizes):
        brief_bound = 2 * (math.log2(size) + 1) ** 2
        indices = {0, size - 1, size // 2, *(rng.randrange(size) for _ in range(20))}
        for index in indices:
            plan = inclusion_plan(index, size)
            assert len(plan) <= _bound(size) <= brief_bound
        for first in {0, 1, size - 1, size, size // 3, *(rng.randrange(size + 1) for _ in range(20))}:
            plan = consistency_plan(first, size)
            assert len(plan) <= _bound(size) <= brief_bound
        assert len(root_plan(size)) == size.bit_count()
        for count in (1, 2, 1000):
            assert len(append_plan(size, count)) <= size.bit_count()


def test_plan_sizes_exhaustively_for_small_trees() -> None:
    for size in range(1, 300):
        assert max(len(inclusion_plan(i, size)) for i in range(size)) <= _bound(size)
        assert max(len(consistency_plan(m, size)) for m in range(size + 1)) <= _bound(size)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (inclusion_plan, (0, 0)),
        (inclusion_plan, (5, 5)),
        (inclusion_plan, (-1, 5)),
        (consistency_plan, (6, 5)),
        (consistency_plan, (-1, 5)),
        (root_plan, (-1,)),
        (append_plan, (-1, 1)),
        (append_plan, (3, -1)),
    ],
)
def test_plans_refuse_impossible_requests(call, args) -> None:
    with pytest.raises(ValueError):
        call(*args)


# ------------------------------------------------------------------------------------------------
# Appending
# ------------------------------------------------------------------------------------------------


def _full_table(n: int) -> dict[tuple[int, int], bytes]:
    ref = Reference([leaf_hash(e) for e in _entries(n)])
    return {
        (level, i): ref.mth(i << level, (i + 1) << level) for level in range(n.bit_length()) for i in range(n >> level)
    }


def test_batch_appends_build_the_complete_table() -> None:
    rng = random.Random(7)
    for _ in range(150):
        start, count = rng.randrange(0, 140), rng.randrange(0, 70)
        before = _full_table(start)
        after = _full_table(start + count)
        plan = append_plan(start, count)
        existing = OnlyThese({k: before[k] for k in plan})
        made = new_nodes(start, [leaf_hash(e) for e in _entries(start + count)[start:]], existing)
        assert {**before, **made} == after
        assert set(made) == set(after) - set(before)
        assert existing.used == set(plan)  # every planned node is needed


def test_append_one_by_one_equals_batches() -> None:
    one, batch = MemoryTree(), MemoryTree()
    entries = _entries(129)
    assert [one.append(e) for e in entries] == list(range(129))
    assert list(batch.extend(entries[:50])) == list(range(50))
    assert list(batch.extend(entries[50:])) == list(range(50, 129))
    assert dict(one.nodes) == dict(batch.nodes)
    assert one.size == batch.size == 129
    assert one.leaf_hash(128) == leaf_hash(entries[128])


def test_new_nodes_refuses_wrong_sized_leaf_hashes() -> None:
    with pytest.raises(ValueError):
        new_nodes(0, [b"short"], {})


def test_memory_tree_refuses_out_of_range_requests() -> None:
    tree = MemoryTree()
    tree.extend(_entries(5))
    assert tree.root() == tree.root(5)
    assert tree.root(0) == EMPTY_ROOT
    with pytest.raises(ValueError):
        tree.root(6)
    with pytest.raises(ValueError):
        tree.inclusion_proof(5)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(ValueError):
        tree.consistency_proof(4, 6)
    with pytest.raises(ValueError):
        tree.consistency_proof(5, 4)
    with pytest.raises(IndexError):
        tree.leaf_hash(5)


# ------------------------------------------------------------------------------------------------
# Properties beyond the exhaustive range
# ------------------------------------------------------------------------------------------------

LARGE = 1500


@pytest.fixture(scope="module")
def large_tree() -> tuple[MemoryTree, Reference]:
    tree = MemoryTree()
    tree.extend(_entries(LARGE))
    return tree, Reference([leaf_hash(e) for e in _entries(LARGE)])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_inclusion_property(large_tree: tuple[MemoryTree, Reference], data: st.DataObject) -> None:
    tree, ref = large_tree
    size = data.draw(st.integers(1, LARGE))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    assert proof == ref.path(index, 0, size)
    root = tree.root(size)
    assert verify_inclusion(ref.leaves[index], index, size, proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = bytearray(proof[i])
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not verify_inclusion(ref.leaves[index], index, size, [*proof[:i], bytes(bad), *proof[i + 1 :]], root)
    other = data.draw(st.integers(0, size - 1))
    assert verify_inclusion(ref.leaves[other], index, size, proof, root) == (other == index)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_consistency_property(large_tree: tuple[MemoryTree, Reference], data: st.DataObject) -> None:
    tree, ref = large_tree
    second = data.draw(st.integers(0, LARGE))
    first = data.draw(st.integers(0, second))
    proof = tree.consistency_proof(first, second)
    assert proof == ref.proof(first, second)
    root1, root2 = tree.root(first), tree.root(second)
    assert verify_consistency(first, second, root1, root2, proof)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = bytearray(proof[i])
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not verify_consistency(first, second, root1, root2, [*proof[:i], bytes(bad), *proof[i + 1 :]])
    # A forked history: the same sizes, one different leaf below `first`, cannot be proved consistent.
    if first:
        forked = data.draw(st.integers(0, first - 1))
        leaves = list(ref.leaves)
        leaves[forked] = leaf_hash(b"rewritten")
        assert not verify_consistency(first, second, Reference(leaves).mth(0, first), root2, proof)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=80), st.data())
def test_memory_tree_agrees_with_the_reference_on_arbitrary_entries(entries: list[bytes], data: st.DataObject) -> None:
    tree = MemoryTree()
    split = data.draw(st.integers(0, len(entries)))
    for e in entries[:split]:
        tree.append(e)
    tree.extend(entries[split:])
    ref = Reference([leaf_hash(e) for e in entries])
    assert tree.root() == ref.mth(0, len(entries)) == root_from_leaf_hashes(ref.leaves)
    if entries:
        index = data.draw(st.integers(0, len(entries) - 1))
        assert tree.inclusion_proof(index) == ref.path(index, 0, len(entries))


# ------------------------------------------------------------------------------------------------
# pymerkle as an independent oracle (roots and audit paths; its consistency-proof format differs)
# ------------------------------------------------------------------------------------------------


def test_pymerkle_roots_and_inclusion_paths(big_tree: tuple[MemoryTree, Reference]) -> None:
    pymerkle = pytest.importorskip("pymerkle", reason="pymerkle (test-only oracle) is not installed")
    tree, _ = big_tree
    oracle = pymerkle.InmemoryTree(algorithm="sha256")
    for e in _entries(EXHAUSTIVE):
        oracle.append_entry(e)
    for size in range(EXHAUSTIVE + 1):
        assert oracle.get_root(size) == tree.root(size)
    for size in range(1, 129):
        for index in range(size):
            proof = oracle.prove_inclusion(index + 1, size)  # pymerkle counts leaves from one
            # Its path starts with the leaf's own hash, then the RFC 9162 audit path.
            assert proof.path[0] == tree.leaf_hash(index)
            assert proof.path[1:] == tree.inclusion_proof(index, size)
