"""What a use case returns for each submitted document: a receipt, or the problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tallyproof.domain.problems import Problem
from tallyproof.ledger.receipts import Receipt


@dataclass(frozen=True)
class Outcome:
    """One document's fate. A duplicate is accepted: it returns the original receipt."""

    index: int
    kind: str
    entry_id: str | None = None
    problems: tuple[Problem, ...] = ()
    receipt: Receipt | None = None
    duplicate: bool = False
    note: str = ""

    @property
    def accepted(self) -> bool:
        return not self.problems

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
