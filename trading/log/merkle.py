"""RFC 9162 (§2.1) Merkle tree hashes and proofs, planned over stored perfect subtrees.

Hashing is SHA-256 with the RFC's domain separation: a leaf is ``SHA-256(0x00 || data)``, an interior node
``SHA-256(0x01 || left || right)`` and the empty tree ``SHA-256("")``.

Storage model. The server keeps the hash of every *aligned perfect subtree*: node ``(level, index)`` is the
hash of the ``2**level`` leaves ``[index * 2**level, (index + 1) * 2**level)``; leaf ``i`` is node ``(0, i)``.
Such a node never changes once its last leaf is appended, so the table is append-only. Every hash the RFC
asks for — a root, an audit path, a consistency proof — is ``MTH`` of a leaf range ``[a, b)`` whose start is
aligned to the next power of two at or above its width; its hash is the right fold (combined right to left)
of the range's decomposition into aligned perfect subtrees (:func:`perfect_subtrees`).

So each operation is split in two pure halves: a *plan* lists the ``(level, index)`` nodes needed (the
database fetches them in one query) and a ``*_from_nodes`` function computes the answer from a mapping of
those nodes. Bounds, for a tree of ``n`` leaves and ``L = ceil(log2 n)``:

- :func:`root_plan` names ``popcount(n) <= L`` nodes;
- :func:`inclusion_plan` and :func:`consistency_plan` name at most ``2L``: every proof element is a single
  stored node except the one sibling that covers the ragged right edge of the tree, which folds at most
  ``L`` of them — O(log n), not O(log² n);
- :func:`append_plan` names at most ``popcount(size)`` nodes (the left siblings on the right edge).

:class:`MemoryTree` is the same machinery over a dict, for tests and for clients that rebuild a log.
The verifiers (:func:`verify_inclusion`, :func:`verify_consistency`) are the bit-twiddling algorithms of
RFC 9162 §2.1.3.2 and §2.1.4.2, step by step, and share nothing with the planning code.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence

HASH_SIZE = 32

#: MTH({}) — the root of the empty tree (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: A stored perfect subtree: (level, index) covers leaves [index * 2**level, (index + 1) * 2**level).
Node = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): the RFC's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the RFC's recursive definition: the O(n) reference, used to check everything else."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))


# --------------------------------------------------------------------------------------------------
# Planning over stored perfect subtrees
# --------------------------------------------------------------------------------------------------


def _check_size(size: int) -> None:
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")


def perfect_subtrees(start: int, end: int) -> list[Node]:
    """Decompose the leaf range ``[start, end)`` into aligned perfect subtrees, left to right.

    Each step takes the largest subtree that starts at ``start``, is aligned there and fits before
    ``end``; the result has at most ``2 * log2(end - start)`` nodes (rising then falling levels).
    """
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) for a range aligned as the RFC's recursion makes them (see the module docstring).

    The right fold of the perfect-subtree decomposition is exactly the RFC's split at the largest power of
    two: the first piece is the left subtree, the fold of the rest the right one.
    """
    pieces = perfect_subtrees(start, end)
    digest = nodes[pieces[-1]]
    for piece in reversed(pieces[:-1]):
        digest = node_hash(nodes[piece], digest)
    return digest


def _plan(ranges: Iterable[tuple[int, int]]) -> list[Node]:
    return [node for start, end in ranges for node in perfect_subtrees(start, end)]


def root_plan(size: int) -> list[Node]:
    """The nodes :func:`root_from_nodes` needs: the decomposition of ``[0, size)``."""
    _check_size(size)
    return perfect_subtrees(0, size)


def root_from_nodes(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[size]) from the nodes named by :func:`root_plan`."""
    _check_size(size)
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, nodes)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()  # collected root side first; PATH lists the deepest sibling first
    return ranges


def inclusion_plan(index: int, size: int) -> list[Node]:
    """Every node :func:`inclusion_proof_from_nodes` needs for leaf ``index`` in the tree of ``size``."""
    return _plan(_inclusion_ranges(index, size))


def inclusion_proof_from_nodes(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """The audit path PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf side first."""
    return [_range_hash(start, end, nodes) for start, end in _inclusion_ranges(index, size)]


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PROOF(first, D[second]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    ranges: list[tuple[int, int]] = []
    # SUBPROOF(m, D[start:start+n], whole): whole is the RFC's b, true while the old root is this subtree.
    start, m, n, whole = 0, first, second, True
    while m != n:
        k = _split(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        ranges.append((start, start + m))
    ranges.reverse()
    return ranges


def consistency_plan(first: int, second: int) -> list[Node]:
    """Every node :func:`consistency_proof_from_nodes` needs to prove ``first`` is a prefix of ``second``."""
    return _plan(_consistency_ranges(first, second))


def consistency_proof_from_nodes(first: int, second: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1; empty when ``first`` is 0 or equals ``second``."""
    return [_range_hash(start, end, nodes) for start, end in _consistency_ranges(first, second)]


# --------------------------------------------------------------------------------------------------
# Appending
# --------------------------------------------------------------------------------------------------


def append_plan(start: int, count: int) -> list[Node]:
    """The stored nodes needed to compute every perfect subtree completed by appending ``count`` leaves
    to a tree of ``start`` leaves: the left siblings on the right edge, i.e. those pieces of ``[0, start)``
    whose right sibling the new leaves complete.
    """
    _check_size(start)
    if count < 0:
        raise ValueError(f"cannot append {count} leaves")
    end = start + count
    return [(level, index) for level, index in perfect_subtrees(0, start) if (index + 2) << level <= end]


def new_nodes(start: int, leaf_hashes: Sequence[bytes], existing: Mapping[Node, bytes]) -> dict[Node, bytes]:
    """Every node completed by appending ``leaf_hashes`` at position ``start`` — the leaves ``(0, i)``
    included — computed from themselves and the ``existing`` nodes named by :func:`append_plan`.
    """
    _check_size(start)
    for digest in leaf_hashes:
        if len(digest) != HASH_SIZE:
            raise ValueError("leaf hashes are 32-byte SHA-256 digests")
    end = start + len(leaf_hashes)
    made: dict[Node, bytes] = {(0, start + i): digest for i, digest in enumerate(leaf_hashes)}
    level = 1
    # Node (level, i) is completed by this batch when its last leaf, (i + 1) * 2**level - 1, is in [start, end).
    while (end >> level) > (start >> level):
        for index in range(start >> level, end >> level):
            left, right = (level - 1, 2 * index), (level - 1, 2 * index + 1)
            made[(level, index)] = node_hash(made[left] if left in made else existing[left], made[right])
        level += 1
    return made


class MemoryTree:
    """An in-memory log built on the same plans: the perfect-subtree table is a dict."""

    def __init__(self) -> None:
        self._nodes: dict[Node, bytes] = {}
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> Mapping[Node, bytes]:
        """The stored perfect subtrees, as a database would hold them."""
        return self._nodes

    def append(self, data: bytes) -> int:
        """Append one entry; return its leaf index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, digest: bytes) -> int:
        index = self._size
        self._nodes.update(new_nodes(index, [digest], self._nodes))
        self._size += 1
        return index

    def extend(self, entries: Iterable[bytes]) -> range:
        """Append entries in one batch; return their leaf indices."""
        start = self._size
        digests = [leaf_hash(data) for data in entries]
        self._nodes.update(new_nodes(start, digests, self._nodes))
        self._size += len(digests)
        return range(start, self._size)

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise IndexError(f"no leaf {index} in a tree of size {self._size}")
        return self._nodes[(0, index)]

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} is beyond the tree's {self._size} leaves")
        return size

    def root(self, size: int | None = None) -> bytes:
        return root_from_nodes(self._size_or_current(size), self._nodes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof_from_nodes(index, self._size_or_current(size), self._nodes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof_from_nodes(first, self._size_or_current(second), self._nodes)


# --------------------------------------------------------------------------------------------------
# Verification: RFC 9162 §2.1.3.2 and §2.1.4.2, step by step
# --------------------------------------------------------------------------------------------------


def _well_formed(*digests: bytes) -> bool:
    return all(isinstance(d, bytes) and len(d) == HASH_SIZE for d in digests)


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4); ``ValueError`` if it cannot
    be a proof for ``index`` in a tree of ``size`` (the length does not match).
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    if not _well_formed(leaf, *proof):
        raise ValueError("proof elements are 32-byte SHA-256 digests")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ValueError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("inclusion proof is too short")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    try:
        computed = root_from_inclusion_proof(leaf, index, size, proof)
    except ValueError:
        return False
    return _well_formed(root) and hmac.compare_digest(computed, root)


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``first`` leaves with ``first_root`` is a prefix of the tree of
    ``second`` leaves with ``second_root`` (RFC 9162 §2.1.4.2).

    The RFC's algorithm covers ``0 < first < second``. Outside it the proof must be empty and: for
    ``first == second`` the roots equal; for ``first == 0`` the first root is the empty tree's.
    """
    if not 0 <= first <= second or not _well_formed(first_root, second_root, *proof):
        return False
    if first == second:
        return not proof and hmac.compare_digest(first_root, second_root)
    if first == 0:
        return not proof and hmac.compare_digest(first_root, EMPTY_ROOT)
    # 1. An empty consistency_path fails.
    if not proof:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. While LSB(fn) is set, shift both right.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash, sn == 0.
    return sn == 0 and hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)
