"""The writer's in-memory view of the ledger, caught up from the store inside each write
transaction, so every rule is checked against everything committed before it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tallyproof.domain.authority import KeyGrant
from tallyproof.domain.ballots import CHAIN
from tallyproof.domain.sources import parse_source
from tallyproof.domain.status import ContestStatus, StationStatus, current_contest_status
from tallyproof.domain.structure import ElectionStructure, parse_structure
from tallyproof.domain.validation import StoredForm
from tallyproof.ledger.entries import parse_leaf
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import MerkleTree
from tallyproof.store.database import Reader

ChainKey = tuple[str, str, str, str]
_INDEX_TABLES = (
    "keys",
    "key_revocations",
    "forms",
    "declarations",
    "status_orders",
    "ballot_accounts",
    "events",
)  # election, station ("" for declarations), contest, chain


class StoreInconsistent(RuntimeError):  # noqa: N818 - a state of the store, named by its code
    """The store no longer holds what the log signed or is not a log at all (a gap)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class LedgerState:
    """Everything the rules consult; rebuilt from the store, never the other way round."""

    tree: MerkleTree = field(default_factory=MerkleTree)
    elections: dict[str, ElectionStructure] = field(default_factory=dict)
    admin_keys: dict[str, PublicKey] = field(default_factory=dict)
    keys: dict[str, PublicKey] = field(default_factory=dict)
    grants: dict[str, KeyGrant] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    entries: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, id) -> seq
    forms: dict[str, StoredForm] = field(default_factory=dict)
    declarations: dict[str, StoredForm] = field(default_factory=dict)
    ballot_accounts: dict[str, StoredForm] = field(default_factory=dict)  # Form 46
    heads: dict[ChainKey, str] = field(default_factory=dict)
    contest_status: dict[tuple[str, str], tuple[ContestStatus, str]] = field(default_factory=dict)
    station_status: dict[tuple[str, str], tuple[StationStatus, str, int]] = field(
        default_factory=dict
    )
    events: list[Any] = field(default_factory=list)  # EventIndex rows, in log order
    re_polled_at: dict[tuple[str, str], int] = field(default_factory=dict)  # latest re-poll order
    last_received_at: str = ""
    _seen: dict[str, int] = field(default_factory=dict)  # index table -> last seq loaded

    @property
    def size(self) -> int:
        return self.tree.size

    def catch_up(self, reader: Reader) -> None:
        """Load what other writers (or earlier runs) committed since we last looked. Index
        rows are written with their entries, so with no new entry there is nothing else."""
        rows = reader.entries(self.tree.size, with_data=False)
        if not rows:
            return
        for row in rows:
            if row.seq != self.tree.size:
                raise StoreInconsistent(
                    "ledger.gap", f"the store has entry {row.seq} but no entry {self.tree.size}"
                )
            self.tree.append(row.leaf_hash)
            self.last_received_at = row.received_at
            self.entries[(row.kind, row.entry_id)] = row.seq
            if row.kind == "structure":
                self._load_structure(row.election_id, reader.entry(row.seq).leaf_data)
        loaders: dict[str, Callable[[Any], None]] = {  # the index tables, in _INDEX_TABLES
            "keys": self._load_key,
            "key_revocations": lambda r: self.revoked.add(r.key_id),
            "forms": self._load_form,
            "declarations": self._load_declaration,
            "status_orders": self._load_status,
            "ballot_accounts": self._load_ballot_account,
            "events": self.events.append,
        }
        for name, load in loaders.items():
            rows = reader.index_since(name, self._seen.get(name, -1))
            for row in rows:
                load(row)
            if rows:
                self._seen[name] = rows[-1].seq

    def committed(self) -> None:
        """Our own transaction committed: every index row up to the log's end is already in
        memory, so the next catch-up need not read them back."""
        for name in _INDEX_TABLES:
            self._seen[name] = self.tree.size - 1

    def _load_structure(self, election_id: str, leaf: bytes) -> None:
        entry = parse_leaf(leaf)
        structure = parse_structure(entry.signed.body)
        self.elections[election_id] = structure
        if structure.admin_key:
            self.admin_keys[election_id] = PublicKey.from_b64(
                f"{election_id}/admin", structure.admin_key
            )

    def _load_key(self, row: Any) -> None:
        self.keys[row.key_id] = PublicKey.from_b64(row.name, row.public_key)
        self.grants[row.key_id] = KeyGrant(
            row.key_id,
            row.election_id,
            parse_source(row.source),
            frozenset(row.stations) if row.stations is not None else None,
            frozenset(row.contests) if row.contests is not None else None,
        )

    def _load_form(self, row: Any) -> None:
        self.add_form(
            row.election_id,
            StoredForm(
                row.form_id, row.seq, row.election_id, row.station, row.contest, row.chain, False
            ),
            row.supersedes,
        )

    def add_form(self, election: str, stored: StoredForm, supersedes: str | None) -> None:
        self.forms[stored.form_id] = stored
        self._advance(
            self.forms, (election, stored.station, stored.contest, stored.chain), stored, supersedes
        )

    def _load_declaration(self, row: Any) -> None:
        self.add_declaration(
            row.election_id,
            StoredForm(
                row.declaration_id, row.seq, row.election_id, "", row.contest, row.chain, False
            ),
            row.supersedes,
        )

    def add_declaration(self, election: str, stored: StoredForm, supersedes: str | None) -> None:
        self.declarations[stored.form_id] = stored
        self._advance(
            self.declarations, (election, "", stored.contest, stored.chain), stored, supersedes
        )

    def _load_ballot_account(self, row: Any) -> None:
        stored = StoredForm(
            row.account_id, row.seq, row.election_id, row.station, row.contest, CHAIN, False
        )
        self.add_ballot_account(row.election_id, stored, row.supersedes)

    def add_ballot_account(self, election: str, stored: StoredForm, supersedes: str | None) -> None:
        """A Form 46: one chain per station and contest, a correction superseding its head."""
        self.ballot_accounts[stored.form_id] = stored
        chain = (election, stored.station, stored.contest, CHAIN)
        self._advance(self.ballot_accounts, chain, stored, supersedes)

    def _advance(
        self,
        index: dict[str, StoredForm],
        chain: ChainKey,
        stored: StoredForm,
        supersedes: str | None,
    ) -> None:
        if supersedes is not None and supersedes in index:
            old = index[supersedes]
            index[supersedes] = replace(old, superseded=True)
        self.heads[chain] = stored.form_id

    def _load_status(self, row: Any) -> None:
        self.set_status(row.election_id, row.scope, row.target, row.status, row.reason, row.seq)

    def set_status(
        self, election: str, scope: str, target: str, status: str, reason: str, seq: int
    ) -> None:
        if scope == "contest":
            self.contest_status[(election, target)] = (ContestStatus(status), reason)
        else:
            self.station_status[(election, target)] = (StationStatus(status), reason, seq)
            if status == StationStatus.RE_POLL_ORDERED:
                self.re_polled_at[(election, target)] = seq

    def head(self, index: dict[str, StoredForm], chain: ChainKey) -> StoredForm | None:
        form_id = self.heads.get(chain)
        return index.get(form_id) if form_id else None

    def contest_status_of(self, election: str, contest: str) -> tuple[ContestStatus, str]:
        return self.contest_status.get((election, contest), (ContestStatus.SCHEDULED, ""))

    def station_status_of(self, election: str, station: str) -> tuple[StationStatus, str, int]:
        return self.station_status.get((election, station), (StationStatus.OPEN, "", -1))

    def status_now(self, election: str, scope: str, target: str) -> str:
        """The status a new order of a contest or station is judged from (`check_transition`):
        a station's as ordered; a contest's as ordered, moved forward by its official forms
        and declaration as the read model does."""
        if scope != "contest":
            return self.station_status_of(election, target)[0]
        ordered, _ = self.contest_status_of(election, target)
        structure = self.elections.get(election)
        stations = structure.stations_of(target) if structure else ()
        reported = sum((election, s, target, "official") in self.heads for s in stations)
        declared = (election, "", target, "official") in self.heads
        return current_contest_status(ordered, reported, len(stations), declared)

    def form_counts(self, election: str, station: str, form_id: str) -> bool:
        """Whether the station's official form counts: not while the station is suspended,
        never one logged before its latest re-poll order (in any contest)."""
        if not self.station_status:
            return True
        if self.station_status_of(election, station)[0] is StationStatus.SUSPENDED:
            return False
        stored = self.forms.get(form_id)
        re_polled_at = self.re_polled_at.get((election, station), -1)
        return stored is None or stored.seq > re_polled_at
