"""Questions about the log itself, for anyone who wants to check it rather than trust it:
its signed checkpoints, inclusion proofs of entries, consistency proofs between two signed
sizes, and the entries' bytes by index range. Read from the store only (no key)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tallyproof.ledger.merkle import MerkleTree
from tallyproof.store.database import Reader, Store
from tallyproof.store.records import CheckpointRow

MAX_ENTRIES = 1000  # entries answered at once; a reader pages through the rest


class NotInLog(LookupError):  # noqa: N818 - a lookup miss, reported as 404 with its code
    """No such entry, or no checkpoint of that size."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class QueryError(ValueError):
    """A question that cannot be asked as put: a range backwards, a size out of reach."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(f"{code} at {field}: {message}")
        self.code, self.field = code, field


@dataclass(frozen=True)
class Inclusion:
    leaf_index: int
    leaf_hash: bytes
    tree_size: int
    proof: tuple[bytes, ...]
    checkpoint: str  # signed at `tree_size`: the root the proof leads to
    kind: str
    entry_id: str


@dataclass(frozen=True)
class Consistency:
    first: CheckpointRow
    second: CheckpointRow
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class EntryBytes:
    leaf_index: int
    kind: str
    entry_id: str
    election: str
    received_at: str
    tree_size: int  # the size of the commit it arrived in
    leaf_data: bytes


@dataclass(frozen=True)
class Proven:
    """A leaf's bytes and the path from its hash to the root of a signed tree."""

    leaf_index: int
    leaf_data: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Evidence:
    tree_size: int
    checkpoint: str
    leaves: tuple[Proven, ...]


class LogView:
    """The log's tree, kept in step with the store's committed leaves to answer proofs for
    any signed size (a national night's 270,000 leaves are a few tens of MB)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.tree = MerkleTree()
        self._lock = threading.Lock()

    def checkpoint(self, size: int | None = None) -> CheckpointRow:
        """The checkpoint signed at exactly `size` entries, or the newest one."""
        with self.store.read() as reader:
            return _signed(reader, size)

    def inclusion(self, leaf_index: int, tree_size: int | None = None) -> Inclusion:
        """That leaf `leaf_index` is in the tree the checkpoint of `tree_size` signed."""
        with self.store.read() as reader:
            row = reader.entry(leaf_index) if leaf_index >= 0 else None
            if row is None:
                raise NotInLog("ledger.no_entry", f"no entry at leaf index {leaf_index}")
            return self._inclusion(reader, row, tree_size)

    def inclusion_of(self, kind: str, entry_id: str, tree_size: int | None = None) -> Inclusion:
        """The same, for an entry named by its kind and id (what a receipt names)."""
        with self.store.read() as reader:
            row = reader.entry_by_id(kind, entry_id)
            if row is None:
                raise NotInLog("ledger.no_entry", f"no {kind} {entry_id} in the log")
            return self._inclusion(reader, row, tree_size)

    def consistency(self, first: int, second: int | None = None) -> Consistency:
        """That the tree signed at `second` extends the one signed at `first`."""
        with self.store.read() as reader:
            a, b = _signed(reader, first), _signed(reader, second)
            if a.tree_size > b.tree_size:
                raise QueryError(
                    "proof.range", "from", f"size {a.tree_size} is after size {b.tree_size}"
                )
            self._catch_up(reader, b.tree_size)
        if a.tree_size in (0, b.tree_size):
            proof: list[bytes] = []
        else:
            with self._lock:
                proof = self.tree.consistency_proof(a.tree_size, b.tree_size)
        return Consistency(a, b, tuple(proof))

    def proof_between(self, old: int, size: int) -> tuple[bytes, ...]:
        """A consistency proof from any size (a witness's last cosigned one need not be a
        size this store signed at) to `size`; empty from 0 or to the same size."""
        if not 0 <= old <= size:
            raise QueryError("proof.range", "from", f"no proof from size {old} to {size}")
        with self.store.read() as reader:
            self._catch_up(reader, size)
        if old in (0, size):
            return ()
        with self._lock:
            return tuple(self.tree.consistency_proof(old, size))

    def evidence(self, seqs: Sequence[int], tree_size: int) -> Evidence:
        """The leaves at `seqs` with their inclusion proofs in the tree signed at `tree_size`:
        what a reader needs to check, without trusting us, that those entries are in it."""
        with self.store.read() as reader:
            signed = _signed(reader, tree_size)
            late = [s for s in seqs if not 0 <= s < tree_size]
            if late:
                raise QueryError(
                    "proof.range", "tree_size", f"leaf {late[0]} is not in the tree of {tree_size}"
                )
            self._catch_up(reader, tree_size)
            leaves = reader.leaves_at(seqs)
        with self._lock:
            proofs = {s: tuple(self.tree.inclusion_proof(s, tree_size)) for s in seqs}
        return Evidence(
            tree_size, signed.note, tuple(Proven(s, leaves[s], proofs[s]) for s in seqs)
        )

    def entries(self, start: int, end: int | None = None) -> list[EntryBytes]:
        """The leaves [start, end) as logged, at most MAX_ENTRIES of them."""
        if start < 0 or (end is not None and end < start):
            raise QueryError("ledger.range", "start", f"no range [{start}, {end})")
        stop = start + MAX_ENTRIES if end is None else min(end, start + MAX_ENTRIES)
        with self.store.read() as reader:
            rows = reader.entries(start, stop)
        return [
            EntryBytes(
                r.seq, r.kind, r.entry_id, r.election_id, r.received_at, r.tree_size, r.leaf_data
            )
            for r in rows
        ]

    def _inclusion(self, reader: Reader, row: Any, tree_size: int | None) -> Inclusion:
        seq = row.seq
        signed = _signed(reader, tree_size)
        if seq >= signed.tree_size:
            raise QueryError(
                "proof.range",
                "tree_size",
                f"leaf {seq} is not in the tree of size {signed.tree_size}",
            )
        self._catch_up(reader, signed.tree_size)
        with self._lock:
            proof = self.tree.inclusion_proof(seq, signed.tree_size)
            leaf = self.tree.leaf(seq)
        return Inclusion(
            seq, leaf, signed.tree_size, tuple(proof), signed.note, row.kind, row.entry_id
        )

    def _catch_up(self, reader: Reader, size: int) -> None:
        with self._lock:
            if self.tree.size < size:
                for leaf in reader.leaf_hashes(self.tree.size, size):
                    self.tree.append(leaf)
            if self.tree.size < size:
                raise NotInLog("ledger.truncated", f"the store holds fewer than {size} entries")


def _signed(reader: Reader, size: int | None) -> CheckpointRow:
    if size is not None and size < 0:
        raise QueryError("proof.range", "tree_size", f"tree size {size} is negative")
    found = reader.checkpoint_at_or_before(size)
    if found is None or (size is not None and found.tree_size != size):
        what = "no checkpoint yet" if size is None else f"no checkpoint was signed at size {size}"
        raise NotInLog("ledger.no_checkpoint", what)
    return found


__all__ = [
    "MAX_ENTRIES",
    "Consistency",
    "Evidence",
    "Inclusion",
    "LogView",
    "NotInLog",
    "Proven",
    "QueryError",
]
