"""Events as use cases: log a concession, a renunciation (the contest becomes vacated), a
complaint or petition and its tribunal's moves, an independent's joining; and read them
back as of a tree size (a contest's events for its history, the joinings for government
arithmetic). Each event is judged alone against everything logged before it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from tallyproof.domain.authority import KeyGrant, check_signer
from tallyproof.domain.events import (
    ADMIN,
    COMPLAINT_UPDATE,
    FILED,
    FILED_TYPES,
    JOINING,
    RENUNCIATION,
    Event,
    EventFacts,
    Evidence,
    check_event,
    declarable,
    parse_event,
    vacated_reason,
    winner_of,
)
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.status import ContestStatus, StatusOrder
from tallyproof.domain.structure import ElectionStructure
from tallyproof.ledger.entries import EntryKind, EnvelopeError, Signed, leaf_body, read_envelope
from tallyproof.service.outcomes import Outcome
from tallyproof.service.state import LedgerState
from tallyproof.service.writer import Batch, LedgerWriter
from tallyproof.store.database import Reader
from tallyproof.store.records import DocumentRow, EventIndex, StatusIndex

if TYPE_CHECKING:
    from tallyproof.service.reading import AsOf, ReadModel


def submit_event(writer: LedgerWriter, envelope: object) -> Outcome:
    return submit_events(writer, [envelope])[0]


def submit_events(writer: LedgerWriter, envelopes: Sequence[object]) -> list[Outcome]:
    """Log events in one transaction, each judged after the ones before it."""
    kind = EntryKind.EVENT
    outcomes: list[Outcome] = []
    with writer.transaction() as batch:
        for index, envelope in enumerate(envelopes):
            try:
                signed = read_envelope(envelope, kind)
            except EnvelopeError as err:
                problem = Problem(err.code, err.field, str(err))
                outcomes.append(Outcome(index, kind, problems=(problem,)))
                continue
            entry_id = signed.body_id
            try:
                problems, duplicate = _apply(batch, signed, entry_id)
            except Rejected as err:
                problems, duplicate = list(err.problems), False
            if problems:
                outcomes.append(Outcome(index, kind, entry_id, tuple(problems)))
            elif duplicate:
                outcomes.append(_duplicate(writer, index, entry_id))
            else:
                receipt = partial(writer.receipt_of, batch, batch.appended[-1])
                outcomes.append(Outcome(index, kind, entry_id, make_receipt=receipt))
    return outcomes


def _duplicate(writer: LedgerWriter, index: int, entry_id: str) -> Outcome:
    receipt = partial(writer.receipt_for_entry, str(EntryKind.EVENT), entry_id)
    note = "already in the ledger; this is its original receipt"
    kind = EntryKind.EVENT
    return Outcome(index, kind, entry_id, duplicate=True, note=note, make_receipt=receipt)


def _apply(batch: Batch, signed: Signed, entry_id: str) -> tuple[list[Problem], bool]:
    """The signer first (a logged event re-signed by a key that may not sign it is refused),
    then the event's rules; on success, log it."""
    state = batch.state
    election = signed.body.get("election")
    structure = state.elections.get(election) if isinstance(election, str) else None
    if structure is None or not isinstance(election, str):
        return [Problem("form.unknown_election", "election", f"no election {election!r}")], False
    event = parse_event(signed.body, structure)
    problems = _check_signer(state, structure, signed, event)
    if problems or (str(EntryKind.EVENT), entry_id) in state.entries:
        return problems, not problems  # a duplicate is answered with its original receipt
    problems = check_event(event, structure, _facts(batch, structure, event))
    if problems:
        return problems, False
    appended = batch.append(signed, election, entry_id)
    row = _index(entry_id, appended.seq, event)
    state.events.append(row)
    batch.add(row)
    if event.type == RENUNCIATION:
        reason = vacated_reason(event)
        state.set_status(election, "contest", event.contest, "vacated", reason, appended.seq)
        batch.add(StatusIndex(appended.seq, election, "contest", event.contest, "vacated", reason))
    return [], False


def _check_signer(
    state: LedgerState, structure: ElectionStructure, signed: Signed, event: Event
) -> list[Problem]:
    """The commission's key records what candidates and tribunals did; a complaint or a
    petition comes from a registered key covering the contest (docs/rules.md)."""
    election = structure.election.id
    if event.signer == ADMIN:
        admin = state.admin_keys[election]
        if signed.key_id != admin.key_id:
            return [
                Problem(
                    "signature.not_admin",
                    "signature.key",
                    f"only {election}'s admin key {admin.key_id} records a {event.type}",
                )
            ]
        public = admin
    else:
        assert event.source is not None
        grant = filing_grant(state.grants.get(signed.key_id), structure, event.contest)
        revoked = signed.key_id in state.revoked
        problems = check_signer(grant, revoked, event.source, None, event.contest, election)
        if problems:
            return problems
        public = state.keys[signed.key_id]
    if not public.verify(signed.message, signed.signature):
        return [Problem("signature.invalid", "signature.value", "the signature is wrong")]
    return []


def filing_grant(
    grant: KeyGrant | None, structure: ElectionStructure, contest: str
) -> KeyGrant | None:
    """A station-scoped key files about the contests its stations serve: seen as a grant
    for those contests (one serving none stays station-scoped, and is refused as such)."""
    if grant is None or grant.stations is None:
        return grant
    served = {c for s in grant.stations if (st := structure.station(s)) for c in st.contests}
    if contest not in served:
        return grant
    return KeyGrant(grant.key_id, grant.election, grant.source, None, grant.contests)


def _facts(batch: Batch, structure: ElectionStructure, event: Event) -> EventFacts:
    state, election = batch.state, structure.election.id
    rows = [r for r in state.events if r.election_id == election]
    status, _ = state.contest_status_of(election, event.contest)
    winner = (
        _winner(batch, structure, event.contest, status) if event.type == RENUNCIATION else None
    )
    conceded = {r.candidate for r in rows if r.contest == event.contest and r.type == "concession"}
    joined = {r.candidate for r in rows if r.type == JOINING}
    complaint = None
    if event.type == COMPLAINT_UPDATE:
        complaint = complaint_state(rows, event.complaint)
    missing = _missing(state, event.evidence)
    return EventFacts(status, winner, frozenset(conceded), frozenset(joined), complaint, missing)


def complaint_state(rows: Sequence[EventIndex], complaint: str) -> tuple[str, str, str] | None:
    """(type, contest, current status) of a complaint or petition, from its filing and the
    updates naming it; None when no such complaint was filed."""
    filed = next((r for r in rows if r.event_id == complaint and r.type in FILED_TYPES), None)
    if filed is None:
        return None
    status = FILED
    for r in rows:
        if r.type == COMPLAINT_UPDATE and r.complaint == complaint and r.status:
            status = r.status
    return filed.type, filed.contest, status


def _missing(state: LedgerState, evidence: Sequence[Evidence]) -> tuple[Evidence, ...]:
    """Cited forms the log does not hold: by id, a form or a declaration; by leaf index,
    one of theirs."""
    seqs: set[int] | None = None
    out: list[Evidence] = []
    for ref in evidence:
        if isinstance(ref, str):
            if ref not in state.forms and ref not in state.declarations:
                out.append(ref)
            continue
        if seqs is None:
            seqs = {f.seq for f in state.forms.values()}
            seqs |= {d.seq for d in state.declarations.values()}
        if ref not in seqs:
            out.append(ref)
    return tuple(out)


def _winner(
    batch: Batch, structure: ElectionStructure, contest: str, status: ContestStatus
) -> str | None:
    """The declared winner (the returning officer's current declaration); else, when the
    contest is final or every station has reported, the leader of its current official forms."""
    election = structure.election.id
    state = batch.state
    declared = state.head(state.declarations, (election, "", contest, "official"))
    if declared is not None:
        row = batch.writer.entry(declared.seq)
        if row is not None:
            votes = leaf_body(row.leaf_data)["votes"]
            return winner_of(votes)
    counts = batch.writer.official_counts(election, contest)
    replaced = {c.supersedes for c in counts if c.supersedes}
    current = [c for c in counts if c.form_id not in replaced]
    complete = len({c.station for c in current}) >= len(structure.stations_of(contest))
    if not current or not declarable(status, complete):
        return None
    totals: dict[str, int] = defaultdict(int)
    for c in current:
        for candidate, n in c.votes.items():
            totals[candidate] += n
    return winner_of(totals)


def _index(entry_id: str, seq: int, event: Event) -> EventIndex:
    status = event.status or None
    return EventIndex(
        entry_id,
        seq,
        event.election,
        event.contest,
        event.type,
        event.candidate or None,
        event.party or None,
        event.complaint or None,
        status,
    )


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedEvent:
    """An event as logged: its place in the log and time, and (for a complaint or
    petition) its status and outcome as of the answer's size."""

    seq: int
    received_at: str
    entry_id: str
    event: Event
    status: str = ""
    outcome: str = ""


class Joining(NamedTuple):
    candidate: str
    contest: str
    party: str
    date: str
    leaf_index: int


def logged_events(
    reader: Reader, structure: ElectionStructure, size: int, contest: str | None = None
) -> list[LoggedEvent]:
    """Every event of the election logged before `size` (of one contest, if named), in log
    order; each complaint with the status and outcome its updates gave it by then."""
    eid = structure.election.id
    out: list[LoggedEvent] = []
    for doc in reader.document_rows(str(EntryKind.EVENT), eid, size):
        event = parse_event(leaf_body(doc.leaf_data), structure)
        out.append(LoggedEvent(doc.seq, doc.received_at, doc.entry_id, event))
    latest: dict[str, Event] = {}
    for logged in out:
        if logged.event.type == COMPLAINT_UPDATE:
            latest[logged.event.complaint] = logged.event
    out = [_with_status(e, latest.get(e.entry_id)) for e in out]
    return [e for e in out if contest is None or e.event.contest == contest]


def _with_status(logged: LoggedEvent, update: Event | None) -> LoggedEvent:
    if logged.event.type not in FILED_TYPES:
        return logged
    if update is None:
        return LoggedEvent(logged.seq, logged.received_at, logged.entry_id, logged.event, FILED)
    return LoggedEvent(
        logged.seq, logged.received_at, logged.entry_id, logged.event, update.status, update.outcome
    )


def joinings(model: ReadModel, election: str | None, as_of: AsOf = None) -> list[Joining]:
    """The independents who joined a party, as of a tree size (or time): (candidate id,
    contest, party, date, leaf index), in log order."""
    return [
        Joining(e.event.candidate, e.event.contest, e.event.party, e.event.date, e.seq)
        for e in model.events(election, as_of=as_of).value
        if e.event.type == JOINING
    ]


def vacating(body: Mapping[str, Any]) -> StatusOrder | None:
    """The status order a logged renunciation amounts to (the contest vacated, with the
    reason), so every reader of contest status sees it as it sees the commission's orders."""
    if body.get("type") != RENUNCIATION:
        return None
    event = Event(
        body["election"],
        RENUNCIATION,
        body["contest"],
        body["time"],
        candidate=body["candidate"],
        statement=body.get("statement", ""),
    )
    reason = vacated_reason(event)
    return StatusOrder(event.election, "contest", event.contest, "vacated", reason, event.time)


def status_documents(reader: Reader, election: str, size: int, since: int = 0) -> list[DocumentRow]:
    """The status orders and the renunciations logged at [since, size), in log order."""
    orders = reader.document_rows("status", election, size, since)
    events = reader.document_rows(str(EntryKind.EVENT), election, size, since)
    vacated = [d for d in events if vacating(leaf_body(d.leaf_data)) is not None]
    if not vacated:
        return orders
    return sorted(orders + vacated, key=lambda d: d.seq)
