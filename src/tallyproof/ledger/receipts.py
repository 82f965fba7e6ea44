"""Receipts: what a submitter keeps to prove, offline, what the log received and when.

The log's signature is the checkpoint's: the inclusion proof ties the leaf (which holds the
submitted document, its signature and the time received) to a root the log signed. Against
what the log published later, a consistency proof shows the receipt's tree is a prefix of the
published one: a log that dropped or rewrote an acknowledged entry cannot show that."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tallyproof.ledger.entries import LedgerEntry, Signed
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import ProofError, verify_consistency, verify_inclusion
from tallyproof.ledger.note import Checkpoint, NoteError

INVALID = "receipt.invalid"  # the receipt's own signature or proof, or not the document
MALFORMED = "receipt.malformed"
NO_ENTRY = "receipt.no_entry"  # no kept envelope has the receipt's entry id
OTHER_LOG = "receipt.other_log"  # the published checkpoint names another origin
ROLLBACK = "receipt.rollback"  # the published tree is smaller than the receipt's
SPLIT_VIEW = "receipt.split_view"  # the published tree does not extend the receipt's
UNPUBLISHED = "receipt.unpublished_checkpoint"  # handed out, but not in the bundle
PUBLISHED_INVALID = "receipt.published_invalid"  # what was published does not verify itself
UNWITNESSED = "receipt.unwitnessed"  # no checkpoint the reader's witness quorum cosigned


class ReceiptError(ValueError):
    """A receipt that does not check out; `code` says how, for the error table to print."""

    def __init__(self, message: str, code: str = INVALID) -> None:
        super().__init__(message)
        self.code = code


def _index(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a whole number >= 0")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


@dataclass(frozen=True)
class Receipt:
    kind: str
    entry_id: str
    leaf_index: int
    leaf_hash: bytes
    tree_size: int
    received_at: str
    checkpoint: str
    inclusion_proof: tuple[bytes, ...]

    def as_dict(self) -> dict[str, Any]:
        b64 = base64.b64encode
        return {
            "kind": self.kind,
            "entry_id": self.entry_id,
            "leaf_index": self.leaf_index,
            "leaf_hash": b64(self.leaf_hash).decode(),
            "tree_size": self.tree_size,
            "received_at": self.received_at,
            "checkpoint": self.checkpoint,
            "inclusion_proof": [b64(p).decode() for p in self.inclusion_proof],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Receipt:
        try:
            b64 = base64.b64decode
            receipt = cls(
                kind=_text(doc["kind"]),
                entry_id=_text(doc["entry_id"]),
                leaf_index=_index(doc["leaf_index"]),
                leaf_hash=b64(doc["leaf_hash"], validate=True),
                tree_size=_index(doc["tree_size"]),
                received_at=_text(doc["received_at"]),
                checkpoint=_text(doc["checkpoint"]),
                inclusion_proof=tuple(b64(p, validate=True) for p in doc["inclusion_proof"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ReceiptError(f"malformed receipt: {err!r}") from None
        return receipt

    def verify(
        self, log_key: PublicKey, submitted: Signed | KeptEntries | None = None
    ) -> Checkpoint:
        """Check the checkpoint's signature and the inclusion proof; given the document as
        submitted (or the envelopes kept, to find it in), also that the leaf is exactly that
        document received at that time."""
        try:
            checkpoint = Checkpoint.open(self.checkpoint, log_key)
        except NoteError as err:
            raise ReceiptError(f"checkpoint: {err}") from err
        if checkpoint.size != self.tree_size:
            raise ReceiptError("checkpoint size differs from the receipt's tree size")
        try:
            verify_inclusion(
                self.leaf_index,
                self.tree_size,
                self.leaf_hash,
                self.inclusion_proof,
                checkpoint.root,
            )
        except ProofError as err:
            raise ReceiptError(f"inclusion proof: {err}") from err
        if isinstance(submitted, KeptEntries):
            submitted = submitted.match(self)
        if submitted is not None:
            self._check_names(submitted)
        return checkpoint

    def _check_names(self, submitted: Signed) -> None:
        """The leaf must be exactly the submitted document received at the stated time, and
        the kind and id the receipt prints (outside the proof) must be that document's."""
        if LedgerEntry(submitted, self.received_at).leaf_hash() != self.leaf_hash:
            raise ReceiptError("the logged entry is not the document you submitted")
        if self.kind != str(submitted.kind):
            raise ReceiptError(f"kind {self.kind!r} is not the document's ({submitted.kind})")
        if self.entry_id != submitted.body_id:
            raise ReceiptError(f"entry_id is not the document's ({submitted.body_id})")


class KeptEntries:
    """The signed envelopes a submitter kept, found by the entry id a receipt names, so a
    file of receipts checks against a file of envelopes in any order. A single envelope is
    checked against every receipt, so a receipt that names another id says how it differs."""

    def __init__(self, signed: Sequence[Signed]) -> None:
        self._by_id: dict[str, list[Signed]] = {}
        for envelope in signed:
            self._by_id.setdefault(envelope.body_id, []).append(envelope)
        self._only = signed[0] if len(signed) == 1 else None

    def match(self, receipt: Receipt) -> Signed:
        """The envelope whose leaf the receipt holds, or, if none is, one with its id (the
        same body may be signed by several keys); ReceiptError if no envelope has the id."""
        found = self._by_id.get(receipt.entry_id, [])
        for envelope in found:
            if LedgerEntry(envelope, receipt.received_at).leaf_hash() == receipt.leaf_hash:
                return envelope
        if found:
            return found[0]
        if self._only is not None:
            return self._only
        raise ReceiptError(f"no kept envelope has entry id {receipt.entry_id}", NO_ENTRY)


Prover = Callable[[int], Sequence[bytes]]  # consistency proof from a size to the published


@dataclass(frozen=True)
class Published:
    """A tree the log published after handing out receipts: its signed checkpoint, a way to
    prove consistency to it, and (from a bundle) every checkpoint published up to it."""

    checkpoint: Checkpoint
    prove: Prover
    notes: frozenset[Checkpoint] | None = None
    note: str = ""  # the published note as found, with any witnesses' cosignatures

    def check(self, held: Checkpoint) -> None:
        """The receipt's tree must be a prefix of the published one, and, when the published
        checkpoints are known, the receipt's must be among them."""
        check_extends(held, self.checkpoint, self.prove)
        if self.notes is not None and held not in self.notes:
            raise ReceiptError(
                f"the receipt's checkpoint of size {held.size} is not among the published "
                "checkpoints: the log handed out a tree head it did not publish",
                UNPUBLISHED,
            )


def check_extends(held: Checkpoint, later: Checkpoint, prove: Prover) -> None:
    """RFC 9162 consistency from `held` to `later`; a smaller later tree is a rollback and
    roots that are not consistent a split view, named apart since they mean different
    things: the log went back, or showed different people different trees."""
    if later.origin != held.origin:
        raise ReceiptError(f"published for {later.origin!r}, not {held.origin!r}", OTHER_LOG)
    if later.size < held.size:
        raise ReceiptError(
            f"the published tree has {later.size} entries, fewer than the receipt's "
            f"{held.size}: the log went back",
            ROLLBACK,
        )
    try:
        verify_consistency(held.size, later.size, prove(held.size), held.root, later.root)
    except ProofError as err:
        raise ReceiptError(
            f"the tree of size {held.size} is not a prefix of the published tree of size "
            f"{later.size}: {err}",
            SPLIT_VIEW,
        ) from err
