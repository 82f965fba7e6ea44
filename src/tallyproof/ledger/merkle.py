"""RFC 6962 / RFC 9162 Merkle tree: leaf and node hashes, roots, inclusion and consistency
proofs, and their verification."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not prove what it claims."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only tree keeping every perfect subtree hash, so that roots and proofs for
    any earlier size cost O(log n) node look-ups (plus the few hashes of the ragged edge)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self._ragged: dict[tuple[int, int], bytes] = {}  # imperfect ranges never change
        for h in leaves:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index."""
        index = len(self._levels[0])
        self._levels[0].append(leaf)
        level, i = 0, index
        while i & 1:
            if level + 1 == len(self._levels):
                self._levels.append([])
            below = self._levels[level]
            self._levels[level + 1].append(node_hash(below[i - 1], below[i]))
            level, i = level + 1, i >> 1
        return index

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self._hash(0, size) if size else EMPTY_ROOT

    def _hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the ranges RFC 6962's recursion produces."""
        n = end - start
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            return self._levels[level][start >> level]
        known = self._ragged.get((start, end))
        if known is None:
            k = _split(n)
            known = node_hash(self._hash(start, start + k), self._hash(start + k, end))
            if len(self._ragged) > 100_000:
                self._ragged.clear()
            self._ragged[(start, end)] = known
        return known

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(m, D[0:n]) of RFC 6962 section 2.1.1."""
        size = self.size if size is None else size
        self._check_size(size)
        return inclusion_path(index, size, self._hash)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF(m, D[0:n]) of RFC 6962 section 2.1.2."""
        size2 = self.size if size2 is None else size2
        self._check_size(size2)
        return consistency_path(size1, size2, self._hash)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond the log's {self.size}")


def inclusion_path(index: int, size: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 section 2.1.1 over any source of subtree hashes
    `subtree(start, end)`: the kept tree, or a log's tiles."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
    return proof[::-1]


def consistency_path(old: int, size: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """PROOF(old, D[0:size]) of RFC 6962 section 2.1.2 over any source of subtree hashes."""
    if not 0 < old <= size:
        raise ProofError(f"no consistency proof from size {old} to {size}")
    proof: list[bytes] = []
    start, end, complete = 0, size, True
    while old != end:
        k = _split(end - start)
        if old - start <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
            complete = False
    if not complete:
        proof.append(subtree(start, end))
    return proof[::-1]


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The root of a list of leaf hashes, computed without keeping the tree."""
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
    for leaf in leaves:
        height, h = 0, leaf
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            h = node_hash(left, h)
            height += 1
        stack.append((height, h))
    if not stack:
        return EMPTY_ROOT
    h = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        h = node_hash(left, h)
    return h


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2; raise ProofError unless `leaf` is at `index` under `root`."""
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ProofError("leaf and root must be SHA-256 hashes")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof leads to a different root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 section 2.1.4.2; raise ProofError unless the tree at `root2` extends the tree
    at `root1`. A proof from the empty tree proves nothing and is refused."""
    if size1 > size2:
        raise ProofError(f"size {size1} is after size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if root1 != root2 or (size1 == 0 and root1 != EMPTY_ROOT):
            raise ProofError("equal sizes but different roots")
        return
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root")


def _valid_subtree(start: int, end: int) -> None:
    """A subtree [start, end) must begin on a multiple of the smallest power of two that
    covers it (so one node of some larger tree covers exactly it, plus nodes to its right)."""
    if start > end:
        raise ProofError(f"subtree start {start} is after its end {end}")
    if start in (0, end):
        return
    width = end - start
    if width > 1 << 63:
        raise ProofError("a subtree that large must start at 0")
    ceiling = 1 << (width - 1).bit_length()
    if start % ceiling:
        raise ProofError(f"subtree [{start}, {end}) does not start on a multiple of {ceiling}")


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Inclusion of a leaf in the subtree [start, end) with the given subtree root."""
    _valid_subtree(start, end)
    if not start <= index < end:
        raise ProofError(f"leaf {index} is outside the subtree [{start}, {end})")
    verify_inclusion(index - start, end - start, leaf, proof, root)


def _chain_left(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for p in proof:
        seed = node_hash(p, seed)
    return seed


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], sub_root: bytes, root: bytes
) -> None:
    """The subtree [start, end) with root `sub_root` is part of the tree of `size` leaves with
    root `root` (for start = 0 this is an ordinary consistency proof)."""
    _valid_subtree(start, end)
    if size < end:
        raise ProofError(f"subtree end {end} is beyond the tree size {size}")
    if start == end:
        if proof or sub_root != EMPTY_ROOT:
            raise ProofError("an empty subtree has the empty root and an empty proof")
        return
    if start == 0 and end == size:
        if proof or sub_root != root:
            raise ProofError("the whole tree needs an empty proof and equal roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    if end == size:
        level = ((end - 1) ^ start).bit_length()
        if len(proof) != (start >> level).bit_count():
            raise ProofError("wrong number of hashes in the proof")
        if _chain_left(sub_root, proof) != root:
            raise ProofError("proof does not lead to the tree root")
        return
    _verify_subtree_growth(start, end, size, list(proof), sub_root, root)


def _verify_subtree_growth(
    start: int, end: int, size: int, proof: list[bytes], sub_root: bytes, root: bytes
) -> None:
    """The general case: the proof is the tail of an inclusion proof of leaf end-1 in the
    tree of `size`, starting at the rightmost perfect subtree inside [start, end)."""
    fork = ((end - 1) ^ (size - 1)).bit_length()
    shift = ((end - start) & -(end - start)).bit_length() - 1  # trailing zeros
    border = ((end - 1) >> fork).bit_count()
    inner = fork - shift
    perfect = end - start == 1 << shift
    seed, rest = (sub_root, proof) if perfect else (proof[0], proof[1:])
    if len(rest) != inner + border:
        raise ProofError("wrong number of hashes in the proof")
    mask = (end - 1) >> shift
    if not perfect:
        height = ((end - 1) ^ start).bit_length()
        sub_inner = min(height, fork) - shift
        sub_border = max(0, border - ((end - 1) >> height).bit_count())
        first = seed
        for i, h in enumerate(rest[:sub_inner]):
            if (mask >> i) & 1:
                first = node_hash(h, first)
        if _chain_left(first, rest[inner : inner + sub_border]) != sub_root:
            raise ProofError("proof does not lead to the subtree root")
    second = seed
    for i, h in enumerate(rest[:inner]):
        second = node_hash(second, h) if not (mask >> i) & 1 else node_hash(h, second)
    if _chain_left(second, rest[inner:]) != root:
        raise ProofError("proof does not lead to the tree root")
