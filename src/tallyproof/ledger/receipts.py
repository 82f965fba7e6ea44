"""Receipts: what a submitter keeps to prove, offline, what the log received and when.

The log's signature is the checkpoint's: the inclusion proof ties the leaf (which holds the
submitted document, its signature and the time received) to a root the log signed."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tallyproof.ledger.entries import LedgerEntry, Signed
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import ProofError, verify_inclusion
from tallyproof.ledger.note import Checkpoint, NoteError


class ReceiptError(ValueError):
    """A receipt that does not check out."""


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

    def verify(self, log_key: PublicKey, submitted: Signed | None = None) -> Checkpoint:
        """Check the checkpoint's signature and the inclusion proof; given the document as
        submitted, also that the leaf is exactly that document received at that time."""
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
