"""Records the store hands upward: rows with their columns decoded, so that nothing above the
store knows a table, a column's name or that votes are kept as JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FormRow:
    """One accepted result form as the index keeps it: its counts and place in the log."""

    form_id: str
    seq: int
    election: str
    station: str
    contest: str
    source: str
    chain: str
    official: bool
    supersedes: str | None
    reason: str | None
    votes: Mapping[str, int]
    rejected: int
    polled: int
    issued: int | None
    received_at: str

    @classmethod
    def of(cls, row: Any) -> FormRow:
        return cls(
            row.form_id,
            row.seq,
            row.election_id,
            row.station,
            row.contest,
            row.source,
            row.chain,
            bool(row.official),
            row.supersedes,
            row.reason,
            json.loads(row.votes),
            row.rejected,
            row.polled,
            row.issued,
            row.received_at,
        )


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A logged document of another kind (declaration, status order, claim report): its ids,
    its place in the log and the leaf that holds the signed body."""

    kind: str
    entry_id: str
    seq: int
    election: str
    received_at: str
    leaf_data: bytes


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    tree_size: int
    note: str
    published_at: str
