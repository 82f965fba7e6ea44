"""The live feed: every committed ledger entry as an event, with the findings it opened and
resolved and the checkpoint its commit signed. The ledger is the event log — an event's id
is its leaf index — so any process that tails the store tells the same story, and a reader
who reconnects after leaf n is given exactly the events after n, from whichever process."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tallyproof.domain.findings import Finding
from tallyproof.domain.structure import ElectionStructure, logged_structure
from tallyproof.ledger.entries import leaf_body
from tallyproof.service.checking import Pairs
from tallyproof.service.reading import Timeline, ordered_contests, status_order
from tallyproof.store.database import Reader, Store
from tallyproof.store.records import BallotAccountRow, DocumentRow, FormRow

PAGE = 5000  # leaves read back at a time when a reader catches up from far behind


@dataclass(frozen=True, slots=True)
class LeafEvent:
    """One committed entry: what it was, what it changed, and the checkpoint of its commit
    when it was the commit's last leaf."""

    seq: int
    kind: str
    entry_id: str
    election: str
    key_id: str
    received_at: str
    detail: dict[str, Any]
    opened: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()
    checkpoint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "leaf_index": self.seq,
            "tree_size": self.seq + 1,
            "kind": self.kind,
            "id": self.entry_id,
            "election": self.election,
            "key": self.key_id,
            "received_at": self.received_at,
            **self.detail,
            "findings_opened": [f.as_dict() for f in self.opened],
            "findings_resolved": [f.as_dict() for f in self.resolved],
        }
        if self.checkpoint is not None:
            doc["checkpoint"] = self.checkpoint
        return doc


class _Election:
    """Every contest's timeline of one election, created when the contest first appears."""

    def __init__(self, structure: ElectionStructure) -> None:
        self.structure = structure
        self.timelines: dict[str, Timeline] = {}
        self.pairs = Pairs(structure)

    def timeline(self, code: str) -> Timeline | None:
        found = self.timelines.get(code)
        if found is None:
            contest = self.structure.contest(code)
            if contest is None:
                return None
            found = self.timelines[code] = Timeline(self.structure, contest, keep_changes=False)
        return found


@dataclass
class _Leaves:
    """What one range of leaves holds, read in one snapshot."""

    rows: list[Any]
    forms: dict[int, FormRow]
    documents: dict[int, DocumentRow]
    checkpoints: dict[int, str]  # leaf index of a commit's last leaf -> its checkpoint
    accounts: dict[int, BallotAccountRow] = field(default_factory=dict)  # Form 46


class Feed:
    """Tails the store: `advance` applies what was committed since and returns its events;
    `backlog` reads any earlier range back. Findings are worked out once, as leaves are
    applied, and kept by leaf index (few leaves change any), so a backlog needs no replay."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.size = 0  # leaves applied
        self._elections: dict[str, _Election] = {}
        self._findings: dict[int, tuple[tuple[Finding, ...], tuple[Finding, ...]]] = {}

    def advance(self, limit: int = PAGE) -> list[LeafEvent]:
        """The events of up to `limit` leaves committed after the last ones applied."""
        with self.store.read() as reader:
            leaves = _read(reader, self.size, self.size + limit)
            for row in leaves.rows:
                if row.kind == "structure" and row.election_id not in self._elections:
                    self._elections[row.election_id] = _Election(_structure(reader, row.seq))
        events = []
        for row in leaves.rows:
            self._apply(row, leaves)
            events.append(self._event(row, leaves))
        if leaves.rows:
            self.size = leaves.rows[-1].seq + 1
        return events

    def backlog(self, start: int, end: int) -> Iterator[list[LeafEvent]]:
        """The events of leaves [start, end), page by page; `end` at most `size`."""
        end = min(end, self.size)
        for page in range(max(start, 0), end, PAGE):
            with self.store.read() as reader:
                leaves = _read(reader, page, min(page + PAGE, end))
            yield [self._event(row, leaves) for row in leaves.rows]

    def _apply(self, row: Any, leaves: _Leaves) -> None:
        """Run a leaf through the timelines of the contests it touches; keep what it
        opened and resolved."""
        election = self._elections.get(row.election_id)
        if election is None:
            return
        touched: list[tuple[str, str, Any]] = []  # (contest, kind, item)
        if row.kind == "form":
            form = leaves.forms[row.seq]
            touched.append((form.contest, "form", form))
            national = election.pairs.national_for(form)  # the NA/PA check's provincial form
            if national is not None:
                touched.append((national, "pair", form))
        elif row.kind in ("declaration", "event"):
            doc = leaves.documents[row.seq]
            contest = leaf_body(doc.leaf_data).get("contest", "")
            touched.append((contest, row.kind, doc))
        elif row.kind == "ballot_account":
            account = leaves.accounts[row.seq]
            touched.append((account.account.contest, "ballot_account", account))
        elif row.kind == "status":
            doc = leaves.documents[row.seq]
            order = status_order(doc)
            for code in ordered_contests(election.structure, order.scope, order.target):
                touched.append((code, "status", (doc, order)))
        opened: list[Finding] = []
        resolved: list[Finding] = []
        for code, kind, item in touched:
            timeline = election.timeline(code)
            if timeline is not None:
                now_open, now_resolved = timeline.apply(row.seq, kind, item)
                opened += now_open
                resolved += now_resolved
        if opened or resolved:
            self._findings[row.seq] = (tuple(opened), tuple(resolved))

    def _event(self, row: Any, leaves: _Leaves) -> LeafEvent:
        opened, resolved = self._findings.get(row.seq, ((), ()))
        return LeafEvent(
            row.seq,
            row.kind,
            row.entry_id,
            row.election_id,
            row.key_id,
            row.received_at,
            _detail(row, leaves),
            opened,
            resolved,
            leaves.checkpoints.get(row.seq),
        )


def _read(reader: Reader, start: int, end: int) -> _Leaves:
    """The ledger rows of [start, end) that have committed, with the forms and documents
    their events describe and the checkpoints signed at their commits."""
    rows = list(reader.entries(start, end, with_data=False))
    if not rows:
        return _Leaves([], {}, {}, {})
    end = rows[-1].seq + 1
    forms: dict[int, FormRow] = {}
    documents: dict[int, DocumentRow] = {}
    kinds = defaultdict(set)
    for row in rows:
        kinds[row.election_id].add(row.kind)
    for election, present in kinds.items():
        if "form" in present:
            for form in reader.form_rows(election, end, since=start, timed=False):
                forms[form.seq] = form
        for kind in ("declaration", "status", "claim", "event"):
            if kind in present:
                for doc in reader.document_rows(kind, election, end, start):
                    documents[doc.seq] = doc
    accounts = {
        a.account.seq: a
        for election, present in kinds.items()
        if "ballot_account" in present
        for a in reader.ballot_accounts(election, end, start)
    }
    checkpoints = {c.tree_size - 1: c.note for c in reader.checkpoints_between(start, end)}
    return _Leaves(rows, forms, documents, checkpoints, accounts)


def _structure(reader: Reader, seq: int) -> ElectionStructure:
    entry = reader.entry_at(seq)
    assert entry is not None
    return logged_structure(leaf_body(entry.leaf_data))


def _detail(row: Any, leaves: _Leaves) -> dict[str, Any]:
    """What a reader of the feed wants to know of an entry without fetching it."""
    if row.kind == "form":
        f = leaves.forms[row.seq]
        return {
            "station": f.station,
            "contest": f.contest,
            "source": f.source,
            "official": f.official,
            "supersedes": f.supersedes,
            "votes": dict(f.votes),
            "rejected": f.rejected,
            "polled": f.polled,
        }
    account = leaves.accounts.get(row.seq)
    if account is not None:
        a = account.account
        return {"station": a.station, "contest": a.contest, "issued": a.issued}
    doc = leaves.documents.get(row.seq)
    if doc is None:
        return {}
    body = leaf_body(doc.leaf_data)
    if row.kind == "declaration":
        return {"contest": body.get("contest"), "source": body.get("source")}
    if row.kind == "status":
        return {k: body.get(k) for k in ("scope", "target", "status", "reason")}
    if row.kind == "event":
        return {k: body.get(k) for k in ("contest", "type", "candidate", "status") if k in body}
    claims = body.get("claims")
    return {"outlet": _outlet(body), "claims": len(claims) if isinstance(claims, list) else 0}


def _outlet(body: dict[str, Any]) -> str | None:
    source = body.get("source")
    return source.removeprefix("media:") if isinstance(source, str) else None
