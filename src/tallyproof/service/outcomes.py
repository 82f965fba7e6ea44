"""What a use case returns for each submitted document: a receipt, or the problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tallyproof.domain.problems import Problem
from tallyproof.ledger.receipts import Receipt


@dataclass(slots=True)
class Outcome:
    """One document's fate. A duplicate is accepted: it returns the original receipt.

    The receipt is built when first asked for (an inclusion proof per form is a real cost
    when a bulk import wants none); it is the same whenever it is built."""

    index: int
    kind: str
    entry_id: str | None = None
    problems: tuple[Problem, ...] = ()
    duplicate: bool = False
    note: str = ""
    make_receipt: Callable[[], Receipt] | None = field(default=None, repr=False, compare=False)
    _receipt: Receipt | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def receipt(self) -> Receipt | None:
        if self._receipt is None and self.make_receipt is not None:
            self._receipt = self.make_receipt()
        return self._receipt

    def settle(self) -> Outcome:
        """Build the receipt now and drop the means of building it, so the outcome can be
        kept or sent to another process after the writer has moved on."""
        _ = self.receipt
        self.make_receipt = None
        return self

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"index": self.index, "kind": self.kind, "accepted": self.accepted}
        if self.entry_id:
            doc["id"] = self.entry_id
        if self.problems:
            doc["problems"] = [p.as_dict() for p in self.problems]
        if self.receipt is not None:
            doc["receipt"] = self.receipt.as_dict()
        if self.duplicate:
            doc["duplicate"] = True
        if self.note:
            doc["note"] = self.note
        return doc
