"""The read side: results per contest, seat standings, and every finding, from the store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache

from tallyproof.domain.checks import contest_checks
from tallyproof.domain.claims import StoredClaim, parse_claim, reconcile_claims
from tallyproof.domain.consolidation import (
    ContestResult,
    FormRecord,
    ResultBasis,
    RunningTotal,
    consolidate,
    contest_result,
    declared_consolidation,
    latest_forms,
    superseded,
)
from tallyproof.domain.declarations import DeclaredResult, parse_declaration
from tallyproof.domain.findings import Finding, by_severity
from tallyproof.domain.forms import ResultForm, SupersedeReason
from tallyproof.domain.reconciliation import (
    DeclarationRecord,
    declaration_reconciliation,
    reconcile_station,
)
from tallyproof.domain.sources import Source, parse_source
from tallyproof.domain.standings import StandingRow, seat_standings
from tallyproof.domain.structure import Contest, ElectionStructure
from tallyproof.domain.validation import copy_findings
from tallyproof.ledger.entries import parse_leaf
from tallyproof.service.ballots import current_accounts, station_account_findings
from tallyproof.service.checking import polled_findings
from tallyproof.service.state import LedgerState
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import Reader
from tallyproof.store.records import BallotAccountIndex, ClaimRow, FormRow, OfficialCount


class UnknownElection(LookupError):  # noqa: N818 - reported to the user as a plain lookup miss
    """An election or contest that is not in the store; the message starts with its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def structure_of(writer: LedgerWriter, election: str | None) -> ElectionStructure:
    """The named election, or the only one when none is named."""
    state = writer.refresh()
    if election is None:
        if len(state.elections) != 1:
            names = ", ".join(sorted(state.elections)) or "none yet"
            raise UnknownElection(
                "form.unknown_election", f"name the election (--election); elections: {names}"
            )
        return next(iter(state.elections.values()))
    if election not in state.elections:
        raise UnknownElection("form.unknown_election", f"no election {election!r}")
    return state.elections[election]


def results(
    writer: LedgerWriter, election: str | None = None, contest: str | None = None
) -> list[ContestResult]:
    """Each contest's standing: summed from the current official form of every station that
    has reported, else the returning officer's declared result, else empty."""
    structure = structure_of(writer, election)
    with writer.read() as reader:
        return results_in(reader, writer.state, structure, contest)


def results_in(
    reader: Reader, state: LedgerState, structure: ElectionStructure, contest: str | None = None
) -> list[ContestResult]:
    """`results` from one snapshot, with the ledger state caught up to that same snapshot."""
    eid = structure.election.id
    contests = _contests(structure, contest)
    totals = _running_totals(reader, structure, contest, state)
    declared = _official_declarations(reader, eid, contest)
    out = []
    for c in contests:
        ordered, reason = state.contest_status_of(eid, c.code)
        total = totals.get(c.code)
        if total is not None:
            cons, basis = total.consolidation(), ResultBasis.STATIONS
        elif c.code in declared:
            cons, basis = (
                declared_consolidation(structure, c, declared[c.code]),
                ResultBasis.DECLARED,
            )
        else:
            cons, basis = RunningTotal(structure, c).consolidation(), ResultBasis.NONE
        out.append(contest_result(c, cons, basis, ordered, reason))
    return out


def standings(
    writer: LedgerWriter, election: str | None = None, *, after_joining: bool = False
) -> list[StandingRow]:
    structure = structure_of(writer, election)
    return seat_standings(
        structure, results(writer, structure.election.id), after_joining=after_joining
    )


def _contests(structure: ElectionStructure, code: str | None) -> Sequence[Contest]:
    if code is None:
        return structure.contests
    contest = structure.contest(code)
    if contest is None:
        raise UnknownElection(
            "form.unknown_contest", f"no contest {code!r} in {structure.election.id}"
        )
    return [contest]


def current_official_counts(
    reader: Reader, election: str, contest: str | None = None
) -> list[OfficialCount]:
    """The counts of each station's current official form."""
    rows = reader.official_counts(election, contest)
    gone = superseded(r.supersedes for r in rows)
    return [r for r in rows if r.form_id not in gone]


def _running_totals(
    reader: Reader, structure: ElectionStructure, contest: str | None, state: LedgerState
) -> dict[str, RunningTotal]:
    """Per contest with forms: the one consolidation, fed each station's current form that
    counts (not a suspended station's, nor one from before the station's re-poll order)."""
    totals: dict[str, RunningTotal] = {}
    eid = structure.election.id
    for r in current_official_counts(reader, eid, contest):
        if not state.form_counts(eid, r.station, r.form_id):
            continue
        total = totals.get(r.contest)
        if total is None:
            known = structure.contest(r.contest)
            if known is None:
                continue
            total = totals[r.contest] = RunningTotal(structure, known)
        total.add(r.station, r.votes, r.rejected, r.polled)
    return totals


def _declaration_heads(
    reader: Reader, election: str, contest: str | None
) -> dict[str, list[DeclarationRecord]]:
    """The current declaration of every source, per contest, read from the ledger."""
    rows = reader.declarations(election, contest)
    gone = superseded(r.supersedes for r in rows)
    heads: dict[str, list[DeclarationRecord]] = defaultdict(list)
    for row in rows:
        if row.declaration_id in gone:
            continue
        entry = reader.entry(row.seq)
        assert entry is not None
        decl = parse_declaration(parse_leaf(entry.leaf_data).signed.body)
        heads[row.contest].append(DeclarationRecord(row.declaration_id, row.seq, decl))
    return heads


def _official_declarations(
    reader: Reader, election: str, contest: str | None
) -> dict[str, DeclaredResult]:
    return {
        code: r.declaration
        for code, records in _declaration_heads(reader, election, contest).items()
        for r in records
        if r.declaration.chain == "official"
    }


def form_records(reader: Reader, election: str, contest: str | None = None) -> list[FormRecord]:
    """Accepted forms as the consolidation sees them: the counts from the index rows."""
    return [
        form_record(r) for r in reader.form_rows(election, reader.ledger_size(), contest=contest)
    ]


@cache
def _source(label: str) -> Source:
    return parse_source(label)


def form_record(row: FormRow) -> FormRecord:
    """A stored form's counts as a record (the full form, with its time, is in its leaf)."""
    form = ResultForm(
        election=row.election,
        station=row.station,
        contest=row.contest,
        source=_source(row.source),
        votes=row.votes,
        rejected=row.rejected,
        polled=row.polled,
        time="",
        valid=row.valid,
        supersedes=row.supersedes,
        reason=SupersedeReason(row.reason) if row.reason else None,
    )
    return FormRecord(row.form_id, row.seq, form)


def findings(
    writer: LedgerWriter, election: str | None = None, contest: str | None = None
) -> list[Finding]:
    """Every discrepancy now visible: sources disagreeing at a station, declared totals
    against the station forms and against each other, and declared arithmetic."""
    structure = structure_of(writer, election)
    eid = structure.election.id
    with writer.read() as reader:
        records = form_records(reader, eid, contest)
        declared = _declaration_heads(reader, eid, contest)
        accounts = current_accounts(
            reader.ballot_accounts(eid, reader.ledger_size(), contest=contest)
        )
    by_place: dict[str, dict[str, dict[str, FormRecord]]] = defaultdict(lambda: defaultdict(dict))
    for (station, code, chain), record in latest_forms(records).items():
        by_place[code][station][chain] = record
    out: list[Finding] = []
    for code, stations in sorted(by_place.items()):
        known = structure.contest(code)
        assert known is not None, code
        for station, heads in sorted(stations.items()):
            if len(heads) > 1:
                out += reconcile_station(station, known, heads)
            out += _copies_and_account(known, station, heads, accounts.get((station, code)))
    if contest is None:
        out += claim_findings(writer, eid)
    for c in _contests(structure, contest):
        stations = by_place.get(c.code, {})
        official = {s: h["official"] for s, h in stations.items() if "official" in h}
        computed = consolidate(structure, c, official)
        out += declaration_reconciliation(c, computed, official, declared.get(c.code, []))
        out += contest_checks(c, computed, declared.get(c.code, []))
    if contest is not None:  # the NA/PA check needs the provincial forms too
        with writer.read() as reader:
            records = form_records(reader, eid)
    out += _polled_findings(structure, records, contest)
    return by_severity(out)


def _copies_and_account(
    contest: Contest,
    station: str,
    heads: dict[str, FormRecord],
    account: BallotAccountIndex | None,
) -> list[Finding]:
    """A station's unofficial copies' own findings, and its Form 46 against its Form 45."""
    official = heads.get("official")
    counted = (official.form_id, official.form.polled) if official else None
    found = copies_findings(contest, station, heads)
    return found + station_account_findings(contest.code, station, account, counted)


def copies_findings(
    contest: Contest, station: str, heads: Mapping[str, FormRecord]
) -> list[Finding]:
    """Each current unofficial copy's own findings (partial, or not adding up): the writer's
    queries and the read model's timelines both work them out from the copies, here."""
    found: list[Finding] = []
    for chain, r in heads.items():
        if chain != "official":
            counts = (r.form.votes, r.form.rejected, r.form.polled, r.form.valid)
            found += copy_findings(contest, station, r.form_id, r.form.source.label, counts)
    return found


def _polled_findings(
    structure: ElectionStructure, records: Sequence[FormRecord], contest: str | None
) -> list[Finding]:
    """Each station's NA/PA finding; with `contest`, those naming it."""
    official = {
        (station, code): record
        for (station, code, chain), record in latest_forms(records).items()
        if chain == "official"
    }
    found = polled_findings(structure, official)
    return [f for f in found if contest is None or contest in f.evidence["contests"]]


def stored_claims(writer: LedgerWriter, election: str | None = None) -> list[StoredClaim]:
    structure = structure_of(writer, election)
    with writer.read() as reader:
        rows = reader.claims(structure.election.id)
    return [_stored(row) for row in rows]


def _stored(row: ClaimRow) -> StoredClaim:
    claim = parse_claim(row.doc)
    return StoredClaim(row.claim_id, row.report_id, row.outlet, row.published, claim)


def claim_findings(writer: LedgerWriter, election: str | None = None) -> list[Finding]:
    """Outlets against outlets and claims against the official results."""
    structure = structure_of(writer, election)
    claims = stored_claims(writer, structure.election.id)
    if not claims:
        return []
    eid = structure.election.id
    by_contest = {r.contest: r for r in results(writer, eid)}
    with writer.read() as reader:
        declarations = _official_declarations(reader, eid, None)
    declared = {}
    for c in structure.contests:
        if c.code in declarations:
            ordered, reason = writer.state.contest_status_of(eid, c.code)
            cons = declared_consolidation(structure, c, declarations[c.code])
            declared[c.code] = contest_result(c, cons, ResultBasis.DECLARED, ordered, reason)
    computed = {code: r for code, r in by_contest.items() if r.basis == ResultBasis.STATIONS}
    return by_severity(reconcile_claims(claims, by_contest, computed=computed, declared=declared))
