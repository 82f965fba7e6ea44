"""Records the store hands upward: rows with their columns decoded, so that nothing above the
store knows a table, a column's name or that votes are kept as JSON text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import orjson


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
    valid: int | None = None  # the valid total the form states, where it does
    evidence: Mapping[str, Any] | None = None  # the photo or scan it was read from

    @classmethod
    def of(cls, row: Sequence[Any]) -> FormRow:
        """From a row of `FORM_COLUMNS` and the entry's time, by position: a contest's few
        hundred forms are read on every uncached answer, and by name they cost twice that."""
        (form_id, seq, election, station, contest, source, chain, official, supersedes,
         reason, votes, rejected, polled, issued, valid, evidence, received_at) = row  # fmt: skip
        return cls(
            form_id, seq, election, station, contest, source, chain, bool(official),
            supersedes, reason, orjson.loads(votes), rejected, polled, issued, received_at,
            valid, orjson.loads(evidence) if evidence else None,
        )  # fmt: skip


class OfficialCount(NamedTuple):
    """An official form's counts with its id and the form it supersedes (forensics and the
    writer's results drop the superseded ones)."""

    form_id: str
    station: str
    contest: str
    supersedes: str | None
    votes: Mapping[str, int]
    rejected: int
    polled: int
    issued: int | None


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """A news report's claim as the index keeps it: its ids, its report's outlet and date,
    the entry that logged the report, and the claim's document."""

    claim_id: str
    report_id: str
    seq: int
    outlet: str
    published: str
    doc: Mapping[str, Any]


class CountRow(NamedTuple):
    """An official form's counts and place, all a running tally needs (a tuple: a national
    night's 180,000 are read when a reader first tallies the log)."""

    seq: int
    station: str
    contest: str
    votes: Mapping[str, int]
    rejected: int
    polled: int


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


# --- what the writer adds: one record per index row, named as the store keeps them ---------
# Each field is a column of the table the record goes to (`database.INDEX_TABLES`); the store
# encodes the fields listed in `JSON_FIELDS` (and decodes them when it hands records back).


@dataclass(frozen=True, slots=True)
class LedgerIndex:
    """A logged leaf: its place, what it is, its bytes and hash, and the size it committed at."""

    seq: int
    election_id: str
    kind: str
    entry_id: str
    key_id: str
    leaf_data: bytes
    leaf_hash: bytes
    received_at: str
    tree_size: int


@dataclass(frozen=True, slots=True)
class ElectionIndex:
    election_id: str
    seq: int  # the structure's leaf


@dataclass(frozen=True, slots=True)
class KeyIndex:
    """A registered key and its scope: None is every station (or contest)."""

    key_id: str
    election_id: str
    name: str
    public_key: str
    source: str
    stations: tuple[str, ...] | None
    contests: tuple[str, ...] | None
    seq: int


@dataclass(frozen=True, slots=True)
class RevocationIndex:
    key_id: str
    reason: str
    seq: int


@dataclass(frozen=True, slots=True)
class FormIndex:
    """An accepted form's counts and chain, as the writer adds it."""

    form_id: str
    seq: int
    election_id: str
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
    valid: int | None = None
    evidence: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BallotAccountIndex:
    """A presiding officer's Form 46 as the writer adds it (and the store hands it back)."""

    account_id: str
    seq: int
    election_id: str
    station: str
    contest: str
    supersedes: str | None
    received: int
    issued: int
    spoilt: int
    unused: int
    tendered: int | None
    evidence: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class BallotAccountRow:
    """A logged Form 46 as the store hands it back: its index row and the time it was logged."""

    account: BallotAccountIndex
    received_at: str


@dataclass(frozen=True, slots=True)
class DeclarationIndex:
    declaration_id: str
    seq: int
    election_id: str
    contest: str
    source: str
    chain: str
    supersedes: str | None


@dataclass(frozen=True, slots=True)
class StatusIndex:
    seq: int
    election_id: str
    scope: str
    target: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReportIndex:
    report_id: str
    seq: int
    election_id: str
    outlet: str
    published: str
    title: str | None
    text_sha256: str
    claims: int


@dataclass(frozen=True, slots=True)
class ClaimIndex:
    claim_id: str
    report_id: str
    seq: int
    election_id: str
    outlet: str
    said_by: str
    kind: str
    contest: str | None
    candidate: str | None
    party: str | None
    value: int | None
    status: str | None
    linked: bool
    doc: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EventIndex:
    """A logged event (domain/events.py): what the rules of later events consult."""

    event_id: str
    seq: int
    election_id: str
    contest: str
    type: str
    candidate: str | None
    party: str | None
    complaint: str | None
    status: str | None


FORM_COLUMNS = tuple(f.name for f in fields(FormIndex))  # FormRow's order, but received_at

IndexRecord = (
    ElectionIndex
    | KeyIndex
    | RevocationIndex
    | FormIndex
    | DeclarationIndex
    | StatusIndex
    | ReportIndex
    | ClaimIndex
    | BallotAccountIndex
    | EventIndex
)
JSON_FIELDS = {"stations", "contests", "votes", "doc", "evidence"}  # kept as JSON text
