"""The read model: answers about an election as of a tree size, apart from the writer.

It opens the store only (no signing key, no writer catch-up), answers each question from one
database snapshot, and names the tree size the answer is true at and the checkpoint that
commits to it. The log only grows, so an answer at size n never changes: answers are cached by
(question, n). `as_of` is a tree size, or a time (the log as it stood once the last entry
received at or before that time had committed)."""

from __future__ import annotations

import gc
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

from tallyproof.domain.checks import contest_checks
from tallyproof.domain.claims import StoredClaim, parse_claim, reconcile_claims
from tallyproof.domain.consolidation import (
    Consolidation,
    ContestResult,
    ContestView,
    Declared,
    FormRecord,
    RePolls,
    ResultBasis,
    RunningTotal,
    StationOrders,
    ahead_of,
    contest_result,
    declared_consolidation,
    re_poll_totals,
    superseded,
)
from tallyproof.domain.declarations import parse_declaration
from tallyproof.domain.delay import ElectionDelay
from tallyproof.domain.events import parse_event
from tallyproof.domain.events import summary as event_summary
from tallyproof.domain.fields import is_timestamp
from tallyproof.domain.findings import Finding, by_severity, finding_key
from tallyproof.domain.forms import ResultForm, SupersedeReason
from tallyproof.domain.reconciliation import (
    DeclarationRecord,
    declaration_reconciliation,
    reconcile_station,
)
from tallyproof.domain.sources import Source, parse_source
from tallyproof.domain.standings import (
    Side,
    StandingRow,
    seat_side,
    seat_standings,
    standing_rows,
)
from tallyproof.domain.status import ContestStatus, StatusOrder, effective_contest_status
from tallyproof.domain.structure import Contest, ElectionStructure, logged_structure
from tallyproof.ledger.entries import leaf_body
from tallyproof.service.ballots import AccountEntry, account_entries, station_account_findings
from tallyproof.service.checking import Pairs, PolledPairs
from tallyproof.service.delay import results_delay
from tallyproof.service.events import LoggedEvent, logged_events, status_documents, vacating
from tallyproof.service.queries import UnknownElection, copies_findings
from tallyproof.service.settings import Settings
from tallyproof.service.writer import NotInitialised
from tallyproof.store.database import Reader, Store
from tallyproof.store.records import BallotAccountRow, CheckpointRow, DocumentRow, FormRow

T = TypeVar("T")
AsOf = int | str | None  # a tree size, an RFC 3339 time, or the newest checkpoint
_CACHED_ANSWERS = 512


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What a question returns: the value, the tree size it is true at, and the signed
    checkpoint of that size (against which its forms' inclusion can be proven)."""

    value: T
    tree_size: int
    checkpoint: str


@dataclass(frozen=True)
class FindingLife:
    """A finding with its life: opened at a tree size by an entry, resolved (or not) later."""

    finding: Finding
    opened_size: int
    opened_by: int  # leaf index of the entry that opened it
    resolved_size: int | None = None
    resolved_by: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_size is None


@dataclass(frozen=True)
class FormEntry:
    """One form as logged, with its place among the other copies of the same count."""

    record: FormRow
    current: bool  # nothing logged before the answer's size supersedes it
    differs_from_official: tuple[str, ...] = ()  # fields where it disagrees with the official


@dataclass(frozen=True)
class Change:
    """One entry's effect on a contest: what it was, and what changed."""

    seq: int
    tree_size: int
    received_at: str
    kind: str  # form, declaration, status
    entry_id: str
    summary: str
    opened: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Reporting:
    """Stations reported over time: (the minute, or second, the log received them, stations
    first reported then), in time order, out of `stations`."""

    stations: int
    per: str  # "minute" or "second"
    times: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ContestPage:
    structure: ElectionStructure
    view: ContestView
    forms: list[FormEntry]


@dataclass(frozen=True)
class Standings:
    rows: list[StandingRow]  # declared winners where declared, else the forms' winners
    by_forms: list[StandingRow]  # what the polling-station forms alone would give


MAX_TREE_SIZE = 2**31 - 1  # the largest size the stores' integer columns keep (PostgreSQL INTEGER)


def parse_as_of(text: str | None) -> AsOf:
    """`--as-of`: a tree size (digits) or an RFC 3339 time, normalised to the log's UTC form."""
    if text is None or text == "":
        return None
    if text.isascii() and text.isdigit():
        # a size past the log answers as of its newest checkpoint; one past what a store's
        # integer holds is that largest integer, never a database overflow
        digits = text.lstrip("0") or "0"
        return MAX_TREE_SIZE if len(digits) > 10 else min(int(digits), MAX_TREE_SIZE)
    if not is_timestamp(text):
        raise ValueError(f"{text!r} is neither a tree size nor an RFC 3339 date-time")
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ReadModel:
    """Questions about the log, each answered from one snapshot at one tree size."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._structures: dict[tuple[str, int], ElectionStructure] = {}
        self._answers: OrderedDict[tuple[Any, ...], Answer[Any]] = OrderedDict()
        self._tallies: dict[str, _Tally] = {}
        self._reports: dict[str, _FirstReports] = {}
        self._findings: dict[str, KeptTimelines] = {}
        self._re_polled: dict[str, _RePolledStations] = {}

    @classmethod
    def open(cls, settings: Settings) -> ReadModel:
        """Open the store only: no key is read and nothing is written."""
        url = settings.database_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            raise NotInitialised(
                f"no store at {url.removeprefix('sqlite:///')}; run `tallyproof init`, or "
                "choose another home with --home or TALLYPROOF_HOME"
            )
        return cls(Store(url))

    def close(self) -> None:
        self.store.close()

    # --- the questions -----------------------------------------------------------------

    def elections(self, as_of: AsOf = None) -> Answer[list[ElectionStructure]]:
        return self._ask(("elections",), as_of, lambda r, n: self._all_structures(r, n))

    def structure(self, election: str | None, as_of: AsOf = None) -> Answer[ElectionStructure]:
        return self._ask(
            ("structure", election), as_of, lambda r, n: self._structure(r, election, n)
        )

    def contest(self, election: str | None, code: str, as_of: AsOf = None) -> Answer[ContestView]:
        def compute(reader: Reader, size: int) -> ContestView:
            return self._view(reader, self._structure(reader, election, size), code, size)

        return self._ask(("contest", election, code), as_of, compute)

    def contest_page(
        self, election: str | None, code: str, as_of: AsOf = None
    ) -> Answer[ContestPage]:
        """A contest with every form of its stations, from one snapshot: what a page about
        the contest shows."""

        def compute(reader: Reader, size: int) -> ContestPage:
            structure = self._structure(reader, election, size)
            view = self._view(reader, structure, code, size)
            rows = reader.form_rows(structure.election.id, size, contest=code)
            return ContestPage(structure, view, _form_entries(rows))

        return self._ask(("contest_page", election, code), as_of, compute)

    def results(self, election: str | None, as_of: AsOf = None) -> Answer[list[ContestView]]:
        def compute(reader: Reader, size: int) -> list[ContestView]:
            structure = self._structure(reader, election, size)
            views = self._tally(reader, structure, size).views(size)
            re_polled = self._re_polled_contests(reader, structure, size)
            if not re_polled:
                return views
            return [
                _with_re_polls(reader, structure, v, size) if v.computed.contest in re_polled else v
                for v in views
            ]

        return self._ask(("results", election), as_of, compute)

    def standings(
        self, election: str | None, as_of: AsOf = None, *, after_joining: bool = False
    ) -> Answer[Standings]:
        def compute(reader: Reader, size: int) -> Standings:
            structure = self._structure(reader, election, size)
            return self._tally(reader, structure, size).standings(size, after_joining)

        return self._ask(("standings", election, after_joining), as_of, compute)

    def findings(
        self, election: str | None, contest: str | None = None, as_of: AsOf = None
    ) -> Answer[list[FindingLife]]:
        """Every finding ever opened up to the answer's size, open or resolved."""

        def compute(reader: Reader, size: int) -> list[FindingLife]:
            structure = self._structure(reader, election, size)
            if contest is not None:
                timeline = Timeline.replay(reader, structure, contest_of(structure, contest), size)
                return in_order(timeline.lives())
            lives = self._election_lives(reader, structure, size)
            lives += _claim_lives(reader, structure, size, self._tally(reader, structure, size))
            return in_order(lives)

        return self._ask(("findings", election, contest), as_of, compute)

    def _election_lives(
        self, reader: Reader, structure: ElectionStructure, size: int
    ) -> list[FindingLife]:
        """Every contest's findings at `size`: from the kept timelines, advanced by the
        entries since, when `size` is at or past them (the live case); an earlier size is
        replayed, as a finding still open keeps its newest evidence and cannot be wound back."""
        eid = structure.election.id
        kept = self._findings.get(eid)
        if kept is None or kept.structure is not structure:
            kept = self._findings[eid] = KeptTimelines(structure, keep_changes=False)
        if size < kept.size:
            return [
                life
                for c in structure.contests
                for life in Timeline.replay(reader, structure, c, size).lives()
            ]
        timelines = kept.at(reader, size, [c.code for c in structure.contests])
        return [life for t in timelines.values() for life in t.lives()]

    def forms(
        self,
        election: str | None,
        *,
        station: str | None = None,
        contest: str | None = None,
        as_of: AsOf = None,
    ) -> Answer[list[FormEntry]]:
        """Every form of a station or a contest, from every source, current and superseded."""

        def compute(reader: Reader, size: int) -> list[FormEntry]:
            structure = self._structure(reader, election, size)
            if contest is not None:
                contest_of(structure, contest)
            if station is not None and structure.station(station) is None:
                raise UnknownElection("form.unknown_station", f"no station {station!r}")
            rows = reader.form_rows(structure.election.id, size, contest=contest, station=station)
            return _form_entries(rows)

        return self._ask(("forms", election, station, contest), as_of, compute)

    def ballot_accounts(
        self, election: str | None, station: str, as_of: AsOf = None
    ) -> Answer[list[AccountEntry]]:
        """Every ballot paper account (Form 46) of a station, corrected ones too."""

        def compute(reader: Reader, size: int) -> list[AccountEntry]:
            structure = self._structure(reader, election, size)
            if structure.station(station) is None:
                raise UnknownElection("form.unknown_station", f"no station {station!r}")
            rows = reader.ballot_accounts(structure.election.id, size, station=station)
            return account_entries(rows)

        return self._ask(("ballot_accounts", election, station), as_of, compute)

    def history(
        self, election: str | None, contest: str, as_of: AsOf = None
    ) -> Answer[list[Change]]:
        def compute(reader: Reader, size: int) -> list[Change]:
            structure = self._structure(reader, election, size)
            replayed = Timeline.replay(
                reader, structure, contest_of(structure, contest), size, keep_changes=True
            )
            return replayed.changes

        return self._ask(("history", election, contest), as_of, compute)

    def events(
        self, election: str | None, contest: str | None = None, as_of: AsOf = None
    ) -> Answer[list[LoggedEvent]]:
        """Concessions, renunciations, complaints (with their status by then) and joinings."""

        def compute(reader: Reader, size: int) -> list[LoggedEvent]:
            structure = self._structure(reader, election, size)
            if contest is not None:
                contest_of(structure, contest)
            return logged_events(reader, structure, size, contest)

        return self._ask(("events", election, contest), as_of, compute)

    def claims(
        self, election: str | None, contest: str | None = None, as_of: AsOf = None
    ) -> Answer[list[StoredClaim]]:
        """The news claims filed by `as_of`, each with its sentence; with `contest`, those
        linked to it."""

        def compute(reader: Reader, size: int) -> list[StoredClaim]:
            structure = self._structure(reader, election, size)
            if contest is not None:
                contest_of(structure, contest)
            rows = [r for r in reader.claims(structure.election.id) if r.seq < size]
            kept = [
                StoredClaim(r.claim_id, r.report_id, r.outlet, r.published, parse_claim(r.doc))
                for r in rows
            ]
            return [c for c in kept if contest is None or c.claim.contest_code == contest]

        return self._ask(("claims", election, contest), as_of, compute)

    def reporting(
        self, election: str | None, as_of: AsOf = None, per: str = "minute"
    ) -> Answer[Reporting]:
        """Stations reported over the night: how many first sent an official form in each
        minute (or second: a night compressed into minutes, a by-election) the log received
        one."""
        if per not in REPORTING_PER:
            raise ValueError(f"per must be one of {', '.join(REPORTING_PER)}")

        def compute(reader: Reader, size: int) -> Reporting:
            structure = self._structure(reader, election, size)
            eid = structure.election.id
            kept = self._reports.get(eid)
            if kept is None:
                kept = self._reports[eid] = _FirstReports()
            kept.advance(reader, eid, size)
            return Reporting(len(structure.stations), per, kept.curve(size, per))

        return self._ask(("reporting", election, per), as_of, compute)

    def delay(
        self, election: str | None, as_of: AsOf = None, close: str | None = None
    ) -> Answer[ElectionDelay]:
        """Results delay: each contest's time from the close of poll to its first form, all
        its forms and its declaration, and the reporting curves (service/delay.py)."""

        def compute(reader: Reader, size: int) -> ElectionDelay:
            return results_delay(reader, self._structure(reader, election, size), size, close)

        return self._ask(("delay", election, close), as_of, compute)

    def warm(self) -> int:
        """Bring every election's kept tally up to the newest checkpoint, and say its size: a
        server does this in the background, so a reader's question finds little to catch up
        with (a fresh national tally takes seconds to build)."""
        with self.snapshot() as (reader, size, _):
            for eid in reader.election_ids(size):
                self._tally(reader, self._structure(reader, eid, size), size)
        return size

    def resolve(self, as_of: AsOf = None) -> tuple[int, bool]:
        """The checkpointed size an answer at `as_of` is true at, and whether that answer is
        settled: the log has grown past `as_of`, so no entry logged later can change it (an
        entry's time is never before the one logged before it)."""
        with self.store.read() as reader:
            size = _checkpoint_for(reader, as_of).tree_size
            if as_of is None:
                return size, False
            newest = reader.checkpoint_at_or_before(None)
            assert newest is not None
            if isinstance(as_of, int):
                return size, as_of <= newest.tree_size
            return size, size < newest.tree_size

    # --- snapshots, sizes and the cache ------------------------------------------------

    @contextmanager
    def snapshot(self, as_of: AsOf = None) -> Iterator[tuple[Reader, int, str]]:
        """One database snapshot, and the checkpointed size the answer will be true at."""
        with self.store.read() as reader:
            checkpoint = _checkpoint_for(reader, as_of)
            yield reader, checkpoint.tree_size, checkpoint.note

    def _ask(
        self, question: tuple[Any, ...], as_of: AsOf, compute: Callable[[Reader, int], T]
    ) -> Answer[T]:
        with self.snapshot(as_of) as (reader, size, note):
            key = (*question, size)
            cached = self._answers.get(key)
            if cached is not None:
                self._answers.move_to_end(key)
                return cached
            answer = Answer(compute(reader, size), size, note)
        self._answers[key] = answer
        if len(self._answers) > _CACHED_ANSWERS:
            self._answers.popitem(last=False)
        return answer

    def _view(
        self, reader: Reader, structure: ElectionStructure, code: str, size: int
    ) -> ContestView:
        """A contest's view in the snapshot at hand: from the kept tally where there is one,
        else from the contest's own rows."""
        contest = contest_of(structure, code)
        tally = self._tallies.get(structure.election.id)
        if tally is None or tally.structure is not structure:
            view = _contest_view(reader, structure, contest, size)
        else:
            tally.advance(reader, size)  # a kept tally answers from figures it has
            view = tally.view(code, size)
        if code not in self._re_polled_contests(reader, structure, size):
            return view
        return _with_re_polls(reader, structure, view, size)

    def _re_polled_contests(
        self, reader: Reader, structure: ElectionStructure, size: int
    ) -> set[str]:
        """The contests with a station whose re-poll was ordered before `size`."""
        eid = structure.election.id
        re_polled = self._re_polled.setdefault(eid, _RePolledStations())
        re_polled.advance(reader, eid, size)
        return re_polled.contests(structure, size)

    def _all_structures(self, reader: Reader, size: int) -> list[ElectionStructure]:
        return [self._structure(reader, eid, size) for eid in reader.election_ids(size)]

    def _structure(self, reader: Reader, election: str | None, size: int) -> ElectionStructure:
        """The named election, or the only one when none is named (as of `size`)."""
        if election is None:
            ids = reader.election_ids(size)
            if len(ids) != 1:
                names = ", ".join(sorted(ids)) or "none yet"
                raise UnknownElection(
                    "form.unknown_election", f"name the election (--election); elections: {names}"
                )
            election = ids[0]
        seq = reader.election_seq(election, size)
        if seq is None:
            raise UnknownElection("form.unknown_election", f"no election {election!r}")
        key = (election, seq)
        if key not in self._structures:  # the leaf (megabytes, nationally) is read once
            entry = reader.entry_at(seq)
            assert entry is not None
            with _kept_for_good():
                self._structures[key] = logged_structure(leaf_body(entry.leaf_data))
        return self._structures[key]

    def _tally(self, reader: Reader, structure: ElectionStructure, size: int) -> _Tally:
        """Every contest's figures, kept and advanced: built once from the log, up to the
        size first asked; later sizes advance it, earlier ones read the figures it kept."""
        tally = self._tallies.get(structure.election.id)
        if tally is not None and tally.structure is structure:
            tally.advance(reader, size)
            return tally
        tally = self._tallies[structure.election.id] = _Tally(structure)
        with _kept_for_good():
            tally.advance(reader, size)
        return tally


class KeptTimelines:
    """Each contest's timeline of one election (`Timeline`, the one replayed for findings
    and history), kept at one size and advanced by the entries logged since, as the live
    feed keeps them: a kept contest's findings then cost the entries since it was last
    asked, not a replay of the contest (the static files' runs; the whole election's
    findings, where a replay cost ten seconds nationally). A contest not yet kept is
    replayed from the log when first asked about."""

    def __init__(self, structure: ElectionStructure, keep_changes: bool) -> None:
        self.structure = structure
        self.keep_changes = keep_changes
        self.size = 0
        self.kept: dict[str, Timeline] = {}
        self.pairs = Pairs(structure)

    def at(self, reader: Reader, size: int, codes: Sequence[str]) -> dict[str, Timeline]:
        """The timelines of `codes` at `size` (never earlier than the size kept)."""
        if size < self.size:
            self.kept.clear()
        elif self.kept:
            self._advance(reader, size)
        self.size = size
        for code in codes:
            if code not in self.kept:
                contest = self.structure.contest(code)
                assert contest is not None, code
                self.kept[code] = Timeline.replay(
                    reader, self.structure, contest, size, keep_changes=self.keep_changes
                )
        return {code: self.kept[code] for code in codes}

    def _advance(self, reader: Reader, size: int) -> None:
        """Apply the entries of [self.size, size) to the timelines of the contests each
        touches, in log order: what `Timeline.replay` would have applied."""
        eid = self.structure.election.id
        forms = reader.form_rows(eid, size, since=self.size, timed=self.keep_changes)
        entries: list[tuple[int, str, str, Any]] = [(f.seq, f.contest, "form", f) for f in forms]
        for f in forms:  # a provincial form is also its station's NA contest's (the NA/PA check)
            national = self.pairs.national_for(f)
            if national is not None:
                entries.append((f.seq, national, "pair", f))
        for doc in reader.document_rows("declaration", eid, size, self.size):
            entries.append(
                (doc.seq, leaf_body(doc.leaf_data).get("contest", ""), "declaration", doc)
            )
        for doc in reader.document_rows("status", eid, size, self.size):
            order = status_order(doc)
            for code in ordered_contests(self.structure, order.scope, order.target):
                entries.append((doc.seq, code, "status", (doc, order)))
        for acc in reader.ballot_accounts(eid, size, self.size):
            entries.append((acc.account.seq, acc.account.contest, "ballot_account", acc))
        for doc in reader.document_rows("event", eid, size, self.size):
            entries.append((doc.seq, leaf_body(doc.leaf_data).get("contest", ""), "event", doc))
        entries.sort(key=lambda e: e[0])
        for seq, code, kind, item in entries:
            timeline = self.kept.get(code)
            if timeline is not None:
                timeline.apply(seq, kind, item)


def ordered_contests(structure: ElectionStructure, scope: str, target: str) -> list[str]:
    """The contests a status order touches: its contest, or each contest its station serves."""
    if scope == "contest":
        return [target]
    station = structure.station(target)
    return list(station.contests) if station is not None else []


REPORTING_PER = {"minute": 16, "second": 19}  # how much of an ISO time names the bucket


class _FirstReports:
    """Each station's first official form (its leaf and the second the log received it), in
    log order, kept up to a size and advanced by the forms logged since: the reporting curve
    at a new size reads only the forms of the commits since the last one it answered."""

    def __init__(self) -> None:
        self.size = 0
        self.seen: set[str] = set()
        self.seqs: list[int] = []
        self.at: list[str] = []

    def advance(self, reader: Reader, election: str, size: int) -> None:
        if size <= self.size:
            return
        if self.size == 0:  # the whole log so far: one query, a row a station
            rows = reader.first_reports(election, size)
        else:
            rows = reader.arrivals_since(election, self.size, size)
        for seq, station, second in rows:
            if station not in self.seen:
                self.seen.add(station)
                self.seqs.append(seq)
                self.at.append(second)
        self.size = size

    def curve(self, size: int, per: str) -> tuple[tuple[str, int], ...]:
        """(minute or second, stations first reported in it) for the log at `size` (≤ the
        kept one); times are kept to the second, "YYYY-MM-DDTHH:MM:SS"."""
        width = REPORTING_PER[per]
        counts = Counter(t[:width] for t in self.at[: bisect_left(self.seqs, size)])
        return tuple(sorted(counts.items()))


def in_order(lives: list[FindingLife]) -> list[FindingLife]:
    """The order findings are answered in: open ones first, each part as
    `domain.findings.by_severity` orders them."""
    order = {id(f): i for i, f in enumerate(by_severity([x.finding for x in lives]))}
    return sorted(lives, key=lambda x: (not x.open, order[id(x.finding)]))


@contextmanager
def _kept_for_good() -> Iterator[None]:
    """Build what the reader keeps for good (a structure's stations, a tally's figures)
    with the collector paused, then move it out of the collector's sight. Otherwise each
    full collection walks a national structure's million objects: several during the build,
    and later tens of milliseconds on whichever answer happens to trigger one."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if paused:
            gc.enable()


def _checkpoint_for(reader: Reader, as_of: AsOf) -> CheckpointRow:
    size = reader.size_at_time(as_of) if isinstance(as_of, str) else as_of
    if size is not None and size < 0:
        raise ValueError(f"tree size {size} is negative")
    checkpoint = reader.checkpoint_at_or_before(size)
    if checkpoint is None:
        raise UnknownElection(
            "ledger.empty", "the log has no checkpoint yet" + (f" at size {size}" if size else "")
        )
    return checkpoint


def contest_of(structure: ElectionStructure, code: str) -> Contest:
    """The election's contest of that code, or the refusal naming it."""
    contest = structure.contest(code)
    if contest is None:
        raise UnknownElection(
            "form.unknown_contest", f"no contest {code!r} in {structure.election.id}"
        )
    return contest


def _declaration(doc: DocumentRow) -> DeclarationRecord:
    body = leaf_body(doc.leaf_data)
    return DeclarationRecord(doc.entry_id, doc.seq, parse_declaration(body))


def status_order(doc: DocumentRow) -> StatusOrder:
    b = leaf_body(doc.leaf_data)
    if doc.kind == "event":  # a renunciation: the contest vacated (service/events.py)
        vacated = vacating(b)
        assert vacated is not None
        return vacated
    return StatusOrder(
        b["election"], b["scope"], b["target"], b["status"], b.get("reason", ""), b["time"]
    )


def _declared(
    structure: ElectionStructure, contest: Contest, record: DeclarationRecord, received: str
) -> Declared:
    decl = record.declaration
    cons = declared_consolidation(structure, contest, decl)
    result = contest_result(contest, cons, ResultBasis.DECLARED, ContestStatus.PROVISIONAL)
    return Declared(
        record.declaration_id, record.seq, decl.time, received, decl.source.label, result
    )


def _render(
    structure: ElectionStructure,
    contest: Contest,
    cons: Consolidation,
    official: tuple[DeclarationRecord, str] | None,
    ordered: tuple[ContestStatus, str],
) -> ContestView:
    """A contest's view from its figures, its official declaration and its ordered status."""
    status, reason = ordered
    basis = ResultBasis.STATIONS if cons.stations_reported else ResultBasis.NONE
    computed = contest_result(contest, cons, basis, status, reason)
    declared = None
    if official is not None:
        declared = _declared(structure, contest, *official)
        if status in _STANDING:
            declared = _with_status(declared, status, reason)
    return ContestView(computed, declared)


_STANDING = (  # ordered statuses a declared result shows in place of "provisional"
    ContestStatus.POSTPONED,
    ContestStatus.SUSPENDED,
    ContestStatus.FINAL,
    ContestStatus.VACATED,
)


def _ordered(order: StatusOrder) -> tuple[ContestStatus, str]:
    return ContestStatus(order.status), order.reason


class _Form:
    """A station's current form of one chain, as a contest's state keeps it all night: its
    id (as bytes), source, chain and supersession, and its counts packed in one array,
    [seq, rejected, polled, votes...], the votes in roster order (an official form names
    every candidate on the roster and no other; a copy naming only some, or others, keeps
    its votes as they came). Kept as read, a form was a dict of int objects in a
    `ResultForm` in a `FormRecord`, for every station of a night: most of a live feed's
    memory. `record` rebuilds the record when reconciliation reads one (a station with two
    sources, a declaration's stations), its votes in roster order: reconciliation compares
    them candidate by candidate, never by their order."""

    __slots__ = ("chain", "counts", "form_id", "reason", "source", "supersedes", "votes")

    def __init__(self, row: FormRow, contest: Contest) -> None:
        self.form_id = _id_bytes(row.form_id)
        self.source = sys.intern(row.source)  # a handful of labels, one on every form
        self.chain = sys.intern(row.chain)
        self.supersedes = row.supersedes
        self.reason = sys.intern(row.reason) if row.reason else row.reason
        self.votes: Mapping[str, int] | None = None
        head = (row.seq, row.rejected, row.polled)
        votes, ids = row.votes, contest.candidate_ids
        if len(votes) == len(ids) and contest.roster.issuperset(votes):
            try:
                self.counts = array("q", (*head, *[votes[c] for c in ids]))
                return
            except (OverflowError, TypeError):  # not a count the store admits: kept as given
                pass
        self.counts = array("q", head)
        self.votes = votes

    @property
    def seq(self) -> int:
        return self.counts[0]

    def figures(self, ids: Sequence[str]) -> tuple[Mapping[str, int], int, int]:
        """Its votes by candidate (`ids`: the contest's roster), rejected and polled."""
        counts = self.counts
        votes = self.votes if self.votes is not None else dict(zip(ids, counts[3:], strict=True))
        return votes, counts[1], counts[2]

    def record(self, election: str, station: str, contest: Contest) -> FormRecord:
        """The record `form_record` makes of the store's row of this form (made here without
        the row: a declaration's reconciliation reads one for each station it names)."""
        votes, rejected, polled = self.figures(contest.candidate_ids)
        form_id = self.form_id if isinstance(self.form_id, str) else self.form_id.hex()
        reason = SupersedeReason(self.reason) if self.reason else None
        form = ResultForm(
            election, station, contest.code, _source(self.source), votes, rejected, polled,
            time="", supersedes=self.supersedes, reason=reason,
        )  # fmt: skip
        return FormRecord(form_id, self.counts[0], form)


@cache
def _source(label: str) -> Source:
    return parse_source(label)


def _id_bytes(form_id: str) -> bytes | str:
    """A form's id, the hex of its hash, as the hash's bytes (half the size); any other id
    as it is."""
    try:
        digest = bytes.fromhex(form_id)
    except ValueError:
        return form_id
    return digest if digest.hex() == form_id else form_id


class _Counted(RunningTotal):
    """A contest's running total over the forms its state keeps: `counted` is the state's
    own map of each station's official form, so the counts are held once, packed."""

    __slots__ = ()

    def put(self, station: str, form: _Form) -> None:
        """`count`, for a kept form."""
        counted: dict[str, _Form] = self.counted  # type: ignore[assignment]
        old = counted.get(station)
        if old is not None:
            self._put(old, -1)
        else:
            known = self._structure.station(station)
            self.registered += known.registered_voters if known else 0
        self._put(form, 1)
        counted[station] = form

    def remove(self, station: str) -> Any:
        """`RunningTotal.remove`, for a kept form: returns the form."""
        counted: dict[str, _Form] = self.counted  # type: ignore[assignment]
        old = counted.pop(station, None)
        if old is not None:
            self._put(old, -1)
            known = self._structure.station(station)
            self.registered -= known.registered_voters if known else 0
        return old

    def restore(self, station: str, counted: Any) -> None:
        self.put(station, counted)

    def _put(self, form: _Form, sign: int) -> None:
        counts = form.counts
        if form.votes is not None:
            self._add(form.votes, counts[1], counts[2], sign)
            return
        mine = self.votes
        if sign > 0:
            for candidate, n in zip(self.contest.candidate_ids, counts[3:], strict=True):
                mine[candidate] += n
        else:
            for candidate, n in zip(self.contest.candidate_ids, counts[3:], strict=True):
                mine[candidate] -= n
        self.rejected += sign * counts[1]
        self.polled += sign * counts[2]


class _Records(Mapping[str, FormRecord]):
    """Each station's official form as a record, rebuilt when looked up: what a
    declaration's reconciliation reads of the forms (the stations of its breakdown)."""

    __slots__ = ("_state",)

    def __init__(self, state: _ContestState) -> None:
        self._state = state

    def __getitem__(self, station: str) -> FormRecord:
        state = self._state
        form = state.official[station]
        return form.record(state.structure.election.id, station, state.contest)

    def get(self, station: str, default: Any = None) -> Any:
        return self[station] if station in self._state.official else default

    def __contains__(self, station: object) -> bool:
        return station in self._state.official

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.official)

    def __len__(self) -> int:
        return len(self._state.official)


class _Breakdown(Mapping[str, Mapping[str, int]]):
    """A declaration's votes station by station, kept as the forms are: the stations that give
    every candidate on the roster packed in one array in roster order, any other as given.
    Read only by reconciliation, which compares the votes by candidate."""

    __slots__ = ("_at", "_ids", "_packed")

    def __init__(
        self,
        stations: Mapping[str, Mapping[str, int]],
        structure: ElectionStructure,
        contest: Contest,
    ) -> None:
        ids = self._ids = contest.candidate_ids
        self._at: dict[str, int | Mapping[str, int]] = {}  # station -> its place, or its votes
        figures: list[int] = []
        for sid, votes in stations.items():
            known = structure.station(sid)
            station = known.id if known is not None else sid  # the structure's own string
            if len(votes) == len(ids) and contest.roster.issuperset(votes):
                self._at[station] = len(figures) // len(ids)
                figures += [votes[c] for c in ids]
            else:
                self._at[station] = votes
        try:
            self._packed = array("q", figures)
        except (OverflowError, TypeError):  # not counts the store admits: kept as given
            self._at, self._packed = dict(stations), array("q")

    def __getitem__(self, station: str) -> Mapping[str, int]:
        at = self._at[station]
        if isinstance(at, int):
            n = len(self._ids)
            return dict(zip(self._ids, self._packed[at * n : (at + 1) * n], strict=True))
        return at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


class _ContestState:
    """What one contest's answers need, built entry by entry in log order: each station's
    current form of each source (`_Form`, packed), the running total of the official ones,
    the current declaration of each source, and the status ordered."""

    __slots__ = (
        "_declared",
        "contest",
        "declarations",
        "official",
        "ordered",
        "others",
        "stations",
        "structure",
        "total",
    )

    def __init__(self, structure: ElectionStructure, contest: Contest) -> None:
        self.structure = structure
        self.contest = contest
        self.total = _Counted(structure, contest)
        # station -> its counted (official) form: the running total's own map, held once
        self.official: dict[str, _Form] = self.total.counted  # type: ignore[assignment]
        self.others: dict[str, tuple[_Form, ...]] = {}  # station -> other chains' forms
        self.declarations: dict[str, tuple[DeclarationRecord, str]] = {}
        self.ordered: tuple[ContestStatus, str] = (ContestStatus.SCHEDULED, "")
        self._declared: list[Finding] | None = None  # the declarations' findings, while valid
        self.stations = StationOrders(structure)  # what station orders hold out of the total

    def add_form(self, row: FormRow) -> str:
        """Keep `row` as its station's current form of its chain (a form is official when
        its chain is "official": both follow from its source); returns the station's id."""
        known = self.structure.station(row.station)
        station = known.id if known is not None else row.station  # not the row's copy
        form = _Form(row, self.contest)
        if row.official and station in self.stations.suspended:
            self.stations.hold(self.contest.code, station, form)
            self._declared = None
            return station
        if row.official:
            self.total.put(station, form)
            self._declared = None
            return station
        kept = self.others.get(station, ())
        if any(f.chain == form.chain for f in kept):
            self.others[station] = tuple(form if f.chain == form.chain else f for f in kept)
        else:
            self.others[station] = (*kept, form)
        return station

    def sources(self, station: str) -> int:
        """How many chains (sources) have a current form for the station."""
        return (station in self.official) + len(self.others.get(station, ()))

    def heads(self, station: str) -> dict[str, FormRecord]:
        """The station's current form of each chain, as records."""
        forms = self.others.get(station, ())
        official = self.official.get(station)
        if official is not None:
            forms = (official, *forms)
        eid = self.structure.election.id
        return {f.chain: f.record(eid, station, self.contest) for f in forms}

    def add_declaration(self, doc: DocumentRow) -> DeclarationRecord:
        record = _declaration(doc)
        decl = record.declaration
        if decl.stations:  # kept packed, as the forms are
            breakdown = _Breakdown(decl.stations, self.structure, self.contest)
            record = replace(record, declaration=replace(decl, stations=breakdown))
        self.declarations[record.declaration.chain] = (record, doc.received_at)
        self._declared = None
        return record

    def order(self, order: StatusOrder, seq: int) -> bool:
        """A status order of this contest stands until the next one; an order of one of its
        stations holds that station's form out of the total, or counts it again. Returns
        whether the order was of one of its stations."""
        if order.scope == "contest" and order.target == self.contest.code:
            self.ordered = _ordered(order)
        elif order.scope == "station":
            totals = {self.contest.code: self.total}
            if self.stations.order(seq, order.target, order.status, totals):
                self._declared = None
                return True
        return False

    def re_polls(self) -> RePolls | None:
        """The totals before and after the re-polls of the contest's stations."""
        code, ids, orders = self.contest.code, self.contest.candidate_ids, self.stations
        rows = []
        for station in self.structure.stations_of(code):
            if station not in orders.re_polled_at:
                continue
            then, now = orders.before.get((code, station)), self.official.get(station)
            rows.append(
                (
                    station,
                    then.figures(ids)[0] if then is not None else None,
                    now.figures(ids)[0] if now is not None else None,
                )
            )
        return re_poll_totals(self.total.votes, rows)

    def exclusions(self, station: str) -> list[Finding]:
        """Why the station's official form does not count here, while it does not."""
        code = self.contest.code
        form = self.stations.held.get((code, station)) or self.stations.before.get((code, station))
        if form is None:
            return []
        form_id = form.form_id if isinstance(form.form_id, str) else form.form_id.hex()
        return self.stations.findings(code, station, station in self.official, form_id)

    def view(self, structure: ElectionStructure) -> ContestView:
        cons = self.total.consolidation()
        official = self.declarations.get("official")
        return _render(structure, self.contest, cons, official, self.ordered)

    def declaration_findings(self) -> list[Finding]:
        """The contest-wide findings: its declarations against the forms and each other.
        They depend on the declarations and the official forms alone, so they are worked
        out again only after one of those (not after a copy or a status order): each time
        reads back a form for every station a declaration names."""
        complete = len(self.official) >= len(self.structure.stations_of(self.contest.code))
        if not self.declarations and not (complete and self.official):
            return []
        if self._declared is None:
            records = [r for r, _ in self.declarations.values()]
            computed = self.total.consolidation()
            official = _Records(self)
            self._declared = declaration_reconciliation(self.contest, computed, official, records)
            self._declared += contest_checks(self.contest, computed, records)  # Pakistan checks
        return self._declared


def _with_status(declared: Declared, status: ContestStatus, reason: str) -> Declared:
    return replace(declared, result=replace(declared.result, status=status, status_reason=reason))


class _Tally:
    """Every contest of one election, advanced through the log. It answers results and
    standings at its size, re-rendering only the contests an entry changed since the last
    answer, and at any earlier checkpoint from the figures it kept at each checkpoint: a
    contest's votes, rejected, polled, stations and registered voters reported, packed in
    roster order (an official form names every candidate on the roster and no other)."""

    def __init__(self, structure: ElectionStructure) -> None:
        self.structure = structure
        self.size = 0
        self.totals = {c.code: RunningTotal(structure, c) for c in structure.contests}
        self.declared: dict[str, list[tuple[int, DeclarationRecord, str]]] = defaultdict(list)
        self.ordered: dict[str, list[tuple[int, tuple[ContestStatus, str]]]] = defaultdict(list)
        self.changed: dict[str, int] = {}  # contest -> leaf index of the last entry changing it
        self._views: dict[str, tuple[int, ContestView]] = {}
        self._kept_at: dict[str, array[int]] = {c.code: array("q") for c in structure.contests}
        self._kept: dict[str, array[int]] = {c.code: array("q") for c in structure.contests}
        self._dirty: set[str] = set()  # changed since the last checkpoint's figures were kept
        self._seats = {joined: _Seats(structure, joined) for joined in (False, True)}
        self.stations = StationOrders(structure)  # what station orders hold out of the totals

    def advance(self, reader: Reader, size: int) -> None:
        """Apply the entries logged in [self.size, size), keeping figures at each checkpoint.
        A commit brings a thousand forms and seldom any other entry, so the forms are applied
        in one plain loop, and the rare declaration or order and each checkpoint where they
        fall between them."""
        if size <= self.size:
            return
        eid = self.structure.election.id
        forms = reader.official_counts_since(eid, self.size, size)
        others: list[tuple[int, Callable[[Any], None], Any]] = [
            (d.seq, self._declaration, d)
            for d in reader.document_rows("declaration", eid, size, self.size)
        ]
        others += [(d.seq, self._order, d) for d in status_documents(reader, eid, size, self.size)]
        marks: list[tuple[int, Callable[[Any], None], Any]] = [
            (mark, self._keep, mark) for mark in reader.checkpoint_sizes(self.size, size)
        ]
        if not marks or marks[-1][0] != size:
            marks.append((size, self._keep, size))
        # a checkpoint at size n keeps what the entries before leaf n made; an entry at n follows
        between = sorted([(n - 0.5, k, x) for n, k, x in marks] + others, key=itemgetter(0))
        between.append((float("inf"), _no_entry, None))
        totals, changed, dirty = self.totals, self.changed, self._dirty
        suspended = self.stations.suspended  # the writer refuses their forms; held if any
        at, (upto, apply, item) = 0, between[0]
        for seq, station, contest, votes, rejected, polled in forms:
            while upto < seq:
                apply(item)
                at += 1
                upto, apply, item = between[at]
            total = totals.get(contest)
            if suspended and station in suspended and total is not None:
                self.stations.hold(contest, station, (votes, rejected, polled))
            elif total is not None:
                total.add(station, votes, rejected, polled)
                changed[contest] = seq
                dirty.add(contest)
        for _, apply, item in between[at:-1]:
            apply(item)
        self.size = size

    def _declaration(self, doc: DocumentRow) -> None:
        record = _declaration(doc)
        code = record.declaration.contest
        if code in self.totals and record.declaration.chain == "official":
            self.declared[code].append((doc.seq, record, doc.received_at))
            self._touch(code, doc.seq)

    def _order(self, doc: DocumentRow) -> None:
        order = status_order(doc)
        if order.scope == "contest" and order.target in self.totals:
            self.ordered[order.target].append((doc.seq, _ordered(order)))
            self._touch(order.target, doc.seq)
        elif order.scope == "station":
            for code in self.stations.order(doc.seq, order.target, order.status, self.totals):
                self._touch(code, doc.seq)

    def _touch(self, code: str, seq: int) -> None:
        self.changed[code] = seq
        self._dirty.add(code)

    def standings(self, size: int, after_joining: bool) -> Standings:
        """At the tally's size, from seat counts moved only for the contests that changed;
        at an earlier size, counted afresh from the views of that size."""
        if size < self.size:
            views = self.views(size)
            return Standings(
                seat_standings(
                    self.structure, [v.official for v in views], after_joining=after_joining
                ),
                seat_standings(
                    self.structure, [v.computed for v in views], after_joining=after_joining
                ),
            )
        return self._seats[after_joining].standings(self._probe, lambda c: self.view(c, size))

    def _probe(self, code: str) -> tuple[Any, ...]:
        """What a contest's seats depend on at the tally's size, cheaper than its view: who is
        ahead on the forms, the status the forms and orders give, the declarations and orders
        logged. While it stands, the contest's seats stand."""
        total = self.totals[code]
        ahead, tied = ahead_of(total.contest.candidates, total.votes)
        orders = self.ordered.get(code, ())
        ordered = orders[-1][1][0] if orders else ContestStatus.SCHEDULED
        stations = len(self.structure.stations_of(code))
        status = effective_contest_status(ordered, len(total.counted), stations)
        return ahead, tied, status, len(orders), len(self.declared.get(code, ()))

    def _keep(self, size: int) -> None:
        for code in self._dirty:
            total = self.totals[code]
            if len(total.votes) != len(total.contest.candidate_ids):  # kept in roster order
                raise ValueError(f"{code}: an official form names a candidate not on the roster")
            self._kept_at[code].append(size)
            kept = self._kept[code]
            kept.extend(total.votes.values())
            kept.extend((total.rejected, total.polled, len(total.counted), total.registered))
        for seats in self._seats.values():
            seats.stale |= self._dirty
        self._dirty.clear()

    def views(self, size: int) -> list[ContestView]:
        return [self.view(c.code, size) for c in self.structure.contests]

    def view(self, code: str, size: int) -> ContestView:
        """A contest as of `size`: the current view (re-rendered only when an entry changed
        the contest), or one rendered from the figures kept at an earlier checkpoint."""
        if size >= self.size:
            version = self.changed.get(code, -1)
            cached = self._views.get(code)
            if cached is None or cached[0] != version:
                cached = (version, self._render(code, self.totals[code].consolidation(), size))
                self._views[code] = cached
            return cached[1]
        return self._render(code, self._figures(code, size), size)

    def _figures(self, code: str, size: int) -> Consolidation:
        contest = self.totals[code].contest
        kept_at = self._kept_at[code]
        at = bisect_right(kept_at, size) - 1
        n = len(contest.candidate_ids)
        if at < 0:
            figures = [0] * (n + 4)
        else:
            figures = self._kept[code][at * (n + 4) : (at + 1) * (n + 4)].tolist()
        return Consolidation(
            contest=code,
            votes=dict(zip(contest.candidate_ids, figures[:n], strict=True)),
            rejected=figures[n],
            polled=figures[n + 1],
            stations_reported=figures[n + 2],
            stations_total=len(self.structure.stations_of(code)),
            registered_reported=figures[n + 3],
            registered_total=self.structure.registered_voters(code),
        )

    def _render(self, code: str, cons: Consolidation, size: int) -> ContestView:
        official = _last_before(self.declared.get(code, ()), size)
        ordered = _last_before(self.ordered.get(code, ()), size)
        return _render(
            self.structure,
            self.totals[code].contest,
            cons,
            (official[1], official[2]) if official else None,
            ordered[1] if ordered else (ContestStatus.SCHEDULED, ""),
        )


class _Seats:
    """The standings' counts at a tally's size, kept: each contest's side (official and by the
    forms alone) is moved from one count to another only when the contest changes."""

    def __init__(self, structure: ElectionStructure, after_joining: bool) -> None:
        self.structure = structure
        self.after_joining = after_joining
        self.stale: set[str] = {c.code for c in structure.contests}
        self.sides: dict[str, tuple[Any, Any]] = {}
        self.probes: dict[str, tuple[Any, ...]] = {}
        self.official: tuple[Counter[Side], Counter[Side]] = (Counter(), Counter())
        self.by_forms: tuple[Counter[Side], Counter[Side]] = (Counter(), Counter())

    def standings(
        self, probe: Callable[[str], tuple[Any, ...]], view_of: Callable[[str], ContestView]
    ) -> Standings:
        for code in self.stale:
            probed = probe(code)
            if self.probes.get(code) == probed:
                continue  # still the same seats: no view to render
            self.probes[code] = probed
            view = view_of(code)
            new = (self._side(view.official), self._side(view.computed))
            old = self.sides.get(code, (None, None))
            for counts, was, now in zip((self.official, self.by_forms), old, new, strict=True):
                if was is not None:
                    counts[0 if was[1] else 1][was[0]] -= 1
                if now is not None:
                    counts[0 if now[1] else 1][now[0]] += 1
            self.sides[code] = new
        self.stale.clear()
        return Standings(
            standing_rows(self.structure, *self.official),
            standing_rows(self.structure, *self.by_forms),
        )

    def _side(self, result: ContestResult) -> tuple[Side, bool] | None:
        return seat_side(self.structure, result, after_joining=self.after_joining)


def _no_entry(_: Any) -> None:
    """The sentinel after the last entry between a tally's forms."""


def _last_before(entries: Sequence[tuple[Any, ...]], size: int) -> tuple[Any, ...] | None:
    """The last of `entries` (in log order, each led by its leaf index) logged before `size`."""
    at = bisect_left(entries, size, key=itemgetter(0))
    return entries[at - 1] if at else None


def _contest_view(
    reader: Reader, structure: ElectionStructure, contest: Contest, size: int
) -> ContestView:
    return _contest_state(reader, structure, contest, size).view(structure)


class _RePolledStations:
    """An election's stations with a re-poll order, each with the leaf of its first, read as
    the log grows: whether a contest's view needs its before and after."""

    def __init__(self) -> None:
        self.size = 0
        self.first: dict[str, int] = {}

    def advance(self, reader: Reader, election: str, size: int) -> None:
        if size <= self.size:
            return
        for doc in reader.document_rows("status", election, size, self.size):
            order = status_order(doc)
            if order.scope == "station" and order.status == "re_poll_ordered":
                self.first.setdefault(order.target, doc.seq)
        self.size = size

    def contests(self, structure: ElectionStructure, size: int) -> set[str]:
        """The contests of the stations whose re-poll was ordered before `size`."""
        codes: set[str] = set()
        for station, seq in self.first.items():
            known = structure.station(station)
            if seq < size and known is not None:
                codes.update(known.contests)
        return codes


def _with_re_polls(
    reader: Reader, structure: ElectionStructure, view: ContestView, size: int
) -> ContestView:
    """The view with its totals before and after the re-polls of its stations (replayed from
    the contest's own rows: re-polls are few)."""
    code = view.computed.contest
    state = _contest_state(reader, structure, contest_of(structure, code), size)
    return replace(view, re_polls=state.re_polls())


def _contest_state(
    reader: Reader, structure: ElectionStructure, contest: Contest, size: int
) -> _ContestState:
    """A contest's state from its own rows, in log order."""
    state = _ContestState(structure, contest)
    eid = structure.election.id
    rows = reader.form_rows(eid, size, contest=contest.code, official=True, timed=False)
    orders = status_documents(reader, eid, size)  # the orders, and renunciations vacating
    entries: list[tuple[int, Any]] = [(row.seq, row) for row in rows]
    entries += [(doc.seq, doc) for doc in orders]  # a station order acts on the forms before it
    for seq, item in sorted(entries, key=itemgetter(0)) if orders else entries:
        if isinstance(item, DocumentRow):
            state.order(status_order(item), seq)
        else:
            state.add_form(item)
    for doc in reader.document_rows("declaration", eid, size, contest=contest.code):
        state.add_declaration(doc)
    return state


class Timeline:
    """A contest replayed entry by entry: what each entry changed, and when each finding
    opened and was resolved. An entry can change only its station's findings and the
    contest's declaration findings, so only those are recomputed after it."""

    def __init__(self, structure: ElectionStructure, contest: Contest, keep_changes: bool) -> None:
        self.structure = structure
        self.keep_changes = keep_changes
        self.state = _ContestState(structure, contest)
        self.open: dict[tuple[Any, ...], tuple[Finding, int, int]] = {}
        self.closed: list[FindingLife] = []
        self.changes: list[Change] = []
        self.station_findings: dict[str, list[Finding]] = {}
        self.contest_findings: list[Finding] = []
        self.accounts: dict[str, BallotAccountRow] = {}  # station -> current Form 46
        self.polled = PolledPairs(structure, contest)

    @classmethod
    def replay(
        cls,
        reader: Reader,
        structure: ElectionStructure,
        contest: Contest,
        size: int,
        *,
        keep_changes: bool = False,
    ) -> Timeline:
        timeline = cls(structure, contest, keep_changes)
        eid = structure.election.id
        forms = reader.form_rows(eid, size, contest=contest.code, timed=keep_changes)
        entries: list[tuple[int, str, Any]] = [(row.seq, "form", row) for row in forms]
        for code in sorted(timeline.polled.contests()):  # the NA/PA check's provincial forms
            rows = reader.form_rows(eid, size, contest=code, official=True, timed=keep_changes)
            entries += [(row.seq, "pair", row) for row in rows]
        entries += [
            (doc.seq, "declaration", doc)
            for doc in reader.document_rows("declaration", eid, size, contest=contest.code)
        ]
        statuses = reader.document_rows("status", eid, size)
        served = set(structure.stations_of(contest.code)) if statuses else set()
        for doc in statuses:
            order = status_order(doc)
            if (order.scope == "contest" and order.target == contest.code) or (
                order.scope == "station" and order.target in served
            ):
                entries.append((doc.seq, "status", (doc, order)))
        accounts = reader.ballot_accounts(eid, size, contest=contest.code)
        entries += [(acc.account.seq, "ballot_account", acc) for acc in accounts]
        for doc in reader.document_rows("event", eid, size):
            if leaf_body(doc.leaf_data).get("contest") == contest.code:
                entries.append((doc.seq, "event", doc))
        entries.sort(key=itemgetter(0))
        for seq, kind, item in entries:
            timeline.apply(seq, kind, item)
        return timeline

    def apply(self, seq: int, kind: str, item: Any) -> tuple[list[Finding], list[Finding]]:
        """One entry of the contest: a form row, a declaration's document row, or a status
        order as (document row, order). Returns the findings it opened and resolved."""
        opened: list[Finding] = []
        resolved: list[Finding] = []
        if kind in ("form", "ballot_account", "pair"):
            if kind == "pair":
                station = self.polled.note(item)
                if station is None:
                    return opened, resolved
            else:
                station = self.state.add_form(item) if kind == "form" else self._account(item)
            self._station(seq, station, opened, resolved)
        elif kind == "declaration":
            item = (item, self.state.add_declaration(item))
        elif kind == "event":  # only a renunciation changes the contest: it is vacated
            item = (item, parse_event(leaf_body(item.leaf_data), self.structure))
            vacated = vacating(leaf_body(item[0].leaf_data))
            if vacated is not None:
                self.state.order(vacated, seq)
        elif self.state.order(item[1], seq):
            known = self.structure.station(item[1].target)
            self._station(seq, known.id if known else item[1].target, opened, resolved)
        found = self.state.declaration_findings()
        if found or self.contest_findings:
            self._update(seq, self.contest_findings, found, opened, resolved)
            self.contest_findings = found
        if kind == "pair" and not (opened or resolved):
            return opened, resolved  # another contest's form: history only when it mattered
        if self.keep_changes:  # findings alone need no summaries (a third of a replay)
            if kind in ("form", "pair"):
                received, entry_id = item.received_at, item.form_id
            elif kind == "ballot_account":
                received, entry_id = item.received_at, item.account.account_id
            else:
                received, entry_id = item[0].received_at, item[0].entry_id
            shown = "form" if kind == "pair" else kind  # a provincial form, in NA's history
            summary = _summary(shown, item)
            change = Change(
                seq, seq + 1, received, shown, entry_id, summary, (*opened,), (*resolved,)
            )
            self.changes.append(change)
        return opened, resolved

    def _station(
        self, seq: int, station: str, opened: list[Finding], resolved: list[Finding]
    ) -> None:
        """The station's findings again after entry `seq`: its own (`_station_findings`), and
        why its official form does not count, if it does not."""
        found = self._station_findings(station) + self.state.exclusions(station)
        before = self.station_findings.get(station, [])
        if found or before:
            self._update(seq, before, found, opened, resolved)
            self.station_findings[station] = found

    def _account(self, acc: BallotAccountRow) -> str:
        """Keep a station's Form 46: a correction supersedes the one before, so the latest
        logged is the current one."""
        known = self.structure.station(acc.account.station)
        station = known.id if known is not None else acc.account.station
        self.accounts[station] = acc
        return station

    def _station_findings(self, station: str) -> list[Finding]:
        """A station's findings: its sources against each other, each unofficial copy's own,
        and its ballot paper account against its counted form."""
        found: list[Finding] = []
        if self.state.others.get(station):  # copies from other sources: worked out anew
            heads = self.state.heads(station)
            if len(heads) > 1:
                found = reconcile_station(station, self.state.contest, heads)
            found += copies_findings(self.state.contest, station, heads)
        if self.polled.partner(station) is not None:
            found += self._polled(station)
        acc = self.accounts.get(station)
        if acc is not None:
            official = self.state.official.get(station)
            counted = None
            if official is not None:
                record = official.record(self.structure.election.id, station, self.state.contest)
                counted = (record.form_id, record.form.polled)
            code = self.state.contest.code
            found += station_account_findings(code, station, acc.account, counted)
        return found

    def _polled(self, station: str) -> list[Finding]:
        """The station's NA/PA finding from its current official forms of both contests."""
        kept = self.state.official.get(station)
        eid = self.structure.election.id
        national = kept.record(eid, station, self.state.contest) if kept is not None else None
        return self.polled.findings(station, national)

    def _update(
        self,
        seq: int,
        before: Sequence[Finding],
        now: Sequence[Finding],
        opened: list[Finding],
        resolved: list[Finding],
    ) -> None:
        """Replace one group of findings (a station's, or the contest's) after entry `seq`."""
        current = {finding_key(f): f for f in now}
        for finding in before:
            key = finding_key(finding)
            if key not in current and key in self.open:
                gone, opened_size, opened_by = self.open.pop(key)
                resolved.append(gone)
                self.closed.append(FindingLife(gone, opened_size, opened_by, seq + 1, seq))
        for key, finding in current.items():
            if key in self.open:
                self.open[key] = (finding, *self.open[key][1:])  # the newest evidence
            else:
                self.open[key] = (finding, seq + 1, seq)
                opened.append(finding)

    def lives(self) -> list[FindingLife]:
        return self.closed + [FindingLife(f, size, by) for f, size, by in self.open.values()]


def _claim_lives(
    reader: Reader, structure: ElectionStructure, size: int, tally: _Tally
) -> list[FindingLife]:
    """Claim findings as they stand at `size`, each opened by the newest report it cites."""
    rows = [r for r in reader.claims(structure.election.id) if r.seq < size]
    if not rows:
        return []
    seq_of = {r.claim_id: r.seq for r in rows}
    claims = [
        StoredClaim(r.claim_id, r.report_id, r.outlet, r.published, parse_claim(r.doc))
        for r in rows
    ]
    views = tally.views(size)
    results: dict[str, ContestResult] = {v.official.contest: v.official for v in views}
    computed = {v.computed.contest: v.computed for v in views}
    declared = {v.declared.result.contest: v.declared.result for v in views if v.declared}
    lives = []
    for finding in reconcile_claims(claims, results, computed=computed, declared=declared):
        said = [*finding.evidence.get("claims", []), finding.evidence.get("claim") or {}]
        cited = [seq_of[c["claim"]] for c in said if c.get("claim") in seq_of]
        by = max(cited) if cited else size - 1
        lives.append(FindingLife(finding, by + 1, by))
    return lives


def _form_entries(rows: Sequence[FormRow]) -> list[FormEntry]:
    gone = superseded(r.supersedes for r in rows)
    official: dict[tuple[str, str], FormRow] = {}
    for r in rows:
        if r.official and r.form_id not in gone:
            official[(r.station, r.contest)] = r
    out = []
    for r in rows:
        head = official.get((r.station, r.contest))
        differs: tuple[str, ...] = ()
        if head is not None and head is not r:
            differs = _differences(head, r)
        out.append(FormEntry(r, r.form_id not in gone, differs))
    return out


def _differences(a: FormRow, b: FormRow) -> tuple[str, ...]:
    fields = [c for c in sorted(set(a.votes) & set(b.votes)) if a.votes[c] != b.votes[c]]
    fields += [k for k in ("rejected", "polled") if getattr(a, k) != getattr(b, k)]
    return tuple(fields)


def _summary(kind: str, item: Any) -> str:
    """An entry's effect on a contest, in words, for its history."""
    if kind == "form":
        return _form_summary(item)
    if kind == "ballot_account":
        a = item.account
        return (
            f"ballot paper account (Form 46) at {a.station}: received {a.received:,}, "
            f"issued {a.issued:,}, spoilt {a.spoilt:,}, unused {a.unused:,}"
        )
    if kind == "event":
        return event_summary(item[1])
    if kind == "declaration":
        return _declaration_summary(item[1])
    order: StatusOrder = item[1]
    reason = f": {order.reason}" if order.reason else ""
    return f"{order.scope} {order.target} ordered {order.status}{reason}"


def _form_summary(row: FormRow) -> str:
    what = f"{row.source} form for {row.station}"
    if row.supersedes:
        what += f" ({row.reason} of {row.supersedes[:12]})"
    votes = ", ".join(f"{c.split('/')[-1]} {n:,}" for c, n in row.votes.items())
    return f"{what}: {votes}; rejected {row.rejected:,}, polled {row.polled:,}"


def _declaration_summary(record: DeclarationRecord) -> str:
    decl = record.declaration
    votes = ", ".join(f"{c.split('/')[-1]} {n:,}" for c, n in decl.votes.items())
    kind = "declared result" if decl.chain == "official" else "declaration (evidence)"
    return f"{decl.source.label} {kind}: {votes}"


__all__ = [
    "Answer",
    "AsOf",
    "Change",
    "ContestPage",
    "FindingLife",
    "FormEntry",
    "ReadModel",
    "Standings",
    "Timeline",
    "contest_of",
    "in_order",
    "parse_as_of",
]


def group_by_contest(entries: Sequence[FormEntry]) -> dict[str, list[FormEntry]]:
    """Forms of a station, contest by contest, in log order."""
    grouped: dict[str, list[FormEntry]] = defaultdict(list)
    for e in entries:
        grouped[e.record.contest].append(e)
    return dict(grouped)
