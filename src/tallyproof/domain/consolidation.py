"""Consolidation (Form 47 as the system computes it) and the per-contest result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from tallyproof.domain.declarations import DeclaredResult
from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.forms import ResultForm
from tallyproof.domain.status import ContestStatus, StationStatus, effective_contest_status
from tallyproof.domain.structure import Candidate, Contest, ElectionStructure


@dataclass(frozen=True, slots=True)
class FormRecord:
    """An accepted form with its content id and its position in the ledger."""

    form_id: str
    seq: int
    form: ResultForm


def superseded(supersedes: Iterable[str | None]) -> set[str]:
    """The one rule of which form (or declaration) is current: nothing is changed in place, so
    a document is current while no other names it in `supersedes`. An official form may
    supersede only its station's current one (the chain rule, checked on admission), so
    "the station's latest official form" and "the official form nothing supersedes" agree:
    the read side's running totals count the former."""
    return {s for s in supersedes if s}


def latest_forms(records: Iterable[FormRecord]) -> dict[tuple[str, str, str], FormRecord]:
    """The current form of every (station, contest, chain): the one nothing supersedes."""
    records = list(records)
    superseded_ids = superseded(r.form.supersedes for r in records)
    return {
        (r.form.station, r.form.contest, r.form.chain): r
        for r in sorted(records, key=lambda r: r.seq)
        if r.form_id not in superseded_ids
    }


def official_heads(records: Iterable[FormRecord], contest: str) -> dict[str, FormRecord]:
    """The latest official form per station of one contest, keyed by station."""
    return {
        station: record
        for (station, code, chain), record in latest_forms(records).items()
        if code == contest and chain == "official"
    }


@dataclass(frozen=True)
class Consolidation:
    """A contest's totals summed from the latest official form of each reporting station."""

    contest: str
    votes: Mapping[str, int]
    rejected: int
    polled: int
    stations_reported: int
    stations_total: int
    registered_reported: int
    registered_total: int

    @property
    def valid(self) -> int:
        return sum(self.votes.values())


class RunningTotal:
    """A contest's totals as station forms arrive: counting a station's current form, and
    taking back the one it supersedes. The one consolidation: `consolidate` is a running
    total fed every current form at once; the read side keeps one per contest as it goes.
    Every figure is kept as it goes, so a consolidation costs the candidates, not the
    stations counted so far."""

    __slots__ = ("_structure", "contest", "counted", "polled", "registered", "rejected", "votes")

    def __init__(self, structure: ElectionStructure, contest: Contest) -> None:
        self.contest = contest
        self.votes: dict[str, int] = dict.fromkeys(contest.candidate_ids, 0)
        self.rejected = 0
        self.polled = 0
        self.registered = 0  # registered voters of the stations counted
        self.counted: dict[str, tuple[Mapping[str, int], int, int]] = {}  # station -> counts
        self._structure = structure

    def count(self, station: str, form: ResultForm) -> None:
        """Count `form` as the station's form, in place of any counted before."""
        self.add(station, form.votes, form.rejected, form.polled)

    def add(self, station: str, votes: Mapping[str, int], rejected: int, polled: int) -> None:
        """`count` from the bare figures (the read side's tally keeps no forms)."""
        old = self.counted.get(station)
        if old is not None:
            self._add(*old, -1)
        else:
            known = self._structure.station(station)
            self.registered += known.registered_voters if known else 0
        self._add(votes, rejected, polled, 1)
        self.counted[station] = (votes, rejected, polled)

    def remove(self, station: str) -> Any:
        """Stop counting the station (a station order): returns what was counted, to restore."""
        old = self.counted.pop(station, None)
        if old is not None:
            self._add(*old, -1)
            known = self._structure.station(station)
            self.registered -= known.registered_voters if known else 0
        return old

    def restore(self, station: str, counted: Any) -> None:
        """Count again what `remove` returned (a suspension lifted)."""
        self.add(station, *counted)

    def _add(self, votes: Mapping[str, int], rejected: int, polled: int, sign: int) -> None:
        mine = self.votes
        if votes.keys() <= mine.keys():  # the roster's candidates: every official form
            if sign > 0:
                for candidate, n in votes.items():
                    mine[candidate] += n
            else:
                for candidate, n in votes.items():
                    mine[candidate] -= n
        else:
            for candidate, n in votes.items():
                mine[candidate] = mine.get(candidate, 0) + sign * n
        self.rejected += sign * rejected
        self.polled += sign * polled

    def consolidation(self) -> Consolidation:
        code = self.contest.code
        return Consolidation(
            contest=code,
            votes=dict(self.votes),
            rejected=self.rejected,
            polled=self.polled,
            stations_reported=len(self.counted),
            stations_total=len(self._structure.stations_of(code)),
            registered_reported=self.registered,
            registered_total=self._structure.registered_voters(code),
        )


class StationOrders:
    """What station orders do to the contests' running totals: a suspended station's forms
    stop counting (in every contest it serves) until the suspension is lifted; a re-poll
    order stops its polling-day forms counting for good (the re-poll's forms count instead).
    The forms stay stored; only the totals change. `held` keeps a suspended station's
    counted figures to restore; `before` the polling-day figures a re-poll replaced."""

    __slots__ = ("before", "held", "re_polled_at", "structure", "suspended")

    def __init__(self, structure: ElectionStructure) -> None:
        self.structure = structure
        self.suspended: set[str] = set()
        self.re_polled_at: dict[str, int] = {}  # station -> leaf index of its latest re-poll order
        self.held: dict[tuple[str, str], Any] = {}  # (contest, station) -> figures held
        self.before: dict[tuple[str, str], Any] = {}  # (contest, station) -> polling-day figures

    def order(
        self, seq: int, station: str, status: str, totals: Mapping[str, RunningTotal]
    ) -> list[str]:
        """Apply a station's order to the totals of the contests given; returns the contests
        it served among them."""
        known = self.structure.station(station)
        codes = [c for c in (known.contests if known else ()) if c in totals]
        if status == StationStatus.SUSPENDED:
            self.suspended.add(station)
            for code in codes:
                counted = totals[code].remove(station)
                if counted is not None:
                    self.held[(code, station)] = counted
        elif status == StationStatus.RE_POLL_ORDERED:
            self.suspended.discard(station)
            self.re_polled_at[station] = seq
            for code in codes:
                counted = totals[code].remove(station)
                counted = self.held.pop((code, station), counted)
                if counted is not None:
                    self.before.setdefault((code, station), counted)
        else:
            self.suspended.discard(station)
            for code in codes:
                counted = self.held.pop((code, station), None)
                if counted is not None:
                    totals[code].restore(station, counted)
        return codes

    def counts(self, station: str, seq: int) -> bool:
        """Whether an official form logged at `seq` counts now."""
        return station not in self.suspended and seq > self.re_polled_at.get(station, -1)

    def hold(self, code: str, station: str, counted: Any) -> None:
        """A form for a suspended station (the writer refuses them): held, not counted."""
        self.held[(code, station)] = counted

    def findings(
        self, code: str, station: str, counted: bool, form_id: str | None
    ) -> list[Finding]:
        """Why the station's form no longer counts in contest `code`, while it does not
        (`counted`: a form of the station counts there now)."""
        if counted:
            return []
        if (code, station) in self.held:
            return [
                Finding(
                    "station.suspended_forms_excluded",
                    Severity.MEDIUM,
                    f"polling at {station} is suspended: its form no longer counts in {code}",
                    contest=code,
                    station=station,
                    evidence={"forms": [form_id] if form_id else []},
                )
            ]
        if (code, station) in self.before and station in self.re_polled_at:
            return [
                Finding(
                    "station.re_poll_pending",
                    Severity.MEDIUM,
                    f"a re-poll is ordered at {station}: its polling-day form no longer counts "
                    f"in {code}, and the re-poll's form has not come",
                    contest=code,
                    station=station,
                    evidence={"forms": [form_id] if form_id else []},
                )
            ]
        return []


def consolidate(
    structure: ElectionStructure, contest: Contest, heads: Mapping[str, FormRecord]
) -> Consolidation:
    """Sum the station forms; every candidate on the roster appears, with 0 if unreported."""
    total = RunningTotal(structure, contest)
    for station_id, record in heads.items():
        total.count(station_id, record.form)
    return total.consolidation()


def declared_consolidation(
    structure: ElectionStructure, contest: Contest, decl: DeclaredResult
) -> Consolidation:
    """A contest's totals as a declaration states them: every candidate on the roster,
    polled as declared (else valid plus rejected), registered voters only when declared."""
    valid = sum(decl.votes.values())
    rejected = decl.rejected or 0
    return Consolidation(
        contest=contest.code,
        votes={cid: decl.votes.get(cid, 0) for cid in contest.candidate_ids},
        rejected=rejected,
        polled=decl.polled if decl.polled is not None else valid + rejected,
        stations_reported=0,
        stations_total=len(structure.stations_of(contest.code)),
        registered_reported=decl.registered or 0,
        registered_total=decl.registered or structure.registered_voters(contest.code),
    )


class ResultBasis(StrEnum):
    STATIONS = "stations"  # summed from polling-station forms
    DECLARED = "declared"  # only a returning officer's declaration is known
    NONE = "none"


@dataclass(frozen=True)
class Standing:
    candidate: str
    name: str
    affiliation: str
    votes: int


@dataclass(frozen=True)
class ContestResult:
    """What a results page shows for one contest. The ranking is built when first asked
    for: standings need only the leader, and a live night re-renders hundreds of contests a
    commit."""

    contest: str
    name: str
    assembly: str
    status: ContestStatus
    status_reason: str
    basis: ResultBasis
    candidates: tuple[Candidate, ...] = field(repr=False)
    votes: Mapping[str, int]
    rejected: int
    polled: int
    stations_reported: int
    stations_total: int
    registered_reported: int
    registered_total: int

    @cached_property
    def ranking(self) -> tuple[Standing, ...]:
        """Every candidate by votes, then roster order for a stable tie display."""
        by_votes = sorted(self.candidates, key=lambda k: -self.votes.get(k.id, 0))  # stable
        return tuple(self._standing(k) for k in by_votes)

    def _standing(self, k: Candidate) -> Standing:
        return Standing(k.id, k.name, k.affiliation, self.votes.get(k.id, 0))

    @property
    def tied(self) -> bool:
        """The top two have the same votes, and some: a contest with no votes is not tied."""
        return ahead_of(self.candidates, self.votes)[1]

    @cached_property
    def leader(self) -> Standing | None:
        """The candidate ahead; None before any votes or when the top two are tied."""
        ahead, tied = ahead_of(self.candidates, self.votes)
        return self._standing(ahead) if ahead is not None and not tied else None

    @property
    def winner(self) -> Standing | None:
        """The leader once counting is complete (provisional or final)."""
        done = self.status in (ContestStatus.PROVISIONAL, ContestStatus.FINAL)
        return self.leader if done else None

    @property
    def runner_up(self) -> Standing | None:
        return self.ranking[1] if len(self.ranking) > 1 else None

    @property
    def margin(self) -> int:
        if len(self.ranking) < 2:
            return self.ranking[0].votes if self.ranking else 0
        return self.ranking[0].votes - self.ranking[1].votes

    @property
    def turnout(self) -> float | None:
        """Ballots polled over the registered voters of the stations that reported."""
        if not self.registered_reported:
            return None
        return self.polled / self.registered_reported


def ahead_of(
    candidates: tuple[Candidate, ...], votes: Mapping[str, int]
) -> tuple[Candidate | None, bool]:
    """The first candidate in roster order with the most votes, if any has votes, and whether
    another has as many: the ranking's head without the sort, and all a seat depends on
    besides the contest's status."""
    best, ahead, tied = 0, None, False
    for k in candidates:
        n = votes.get(k.id, 0)
        if n > best:
            best, ahead, tied = n, k, False
        elif n == best and n > 0:
            tied = True
    return ahead, tied


def contest_result(
    contest: Contest,
    consolidation: Consolidation,
    basis: ResultBasis,
    ordered: ContestStatus,
    reason: str = "",
) -> ContestResult:
    """A contest's result from its figures, its basis and its ordered status."""
    status = effective_contest_status(
        ordered, consolidation.stations_reported, consolidation.stations_total
    )
    if basis is ResultBasis.DECLARED and status not in (
        ContestStatus.POSTPONED,
        ContestStatus.SUSPENDED,
        ContestStatus.FINAL,
    ):
        status = ContestStatus.PROVISIONAL
    return ContestResult(
        contest=contest.code,
        name=contest.name,
        assembly=contest.assembly,
        status=status,
        status_reason=reason,
        basis=basis,
        candidates=contest.candidates,
        votes=consolidation.votes,
        rejected=consolidation.rejected,
        polled=consolidation.polled,
        stations_reported=consolidation.stations_reported,
        stations_total=consolidation.stations_total,
        registered_reported=consolidation.registered_reported,
        registered_total=consolidation.registered_total,
    )


@dataclass(frozen=True)
class Declared:
    """A returning officer's declared result (Form 47) as the log holds it."""

    declaration_id: str
    seq: int
    time: str  # as the declaration states it
    received_at: str  # when the log received it
    source: str
    result: ContestResult


@dataclass(frozen=True)
class RePolledStation:
    """One re-polled station of a contest: its polling-day votes (empty if it never reported
    before the order) and the re-poll's (None until the re-poll's form has come)."""

    station: str
    before: Mapping[str, int]
    after: Mapping[str, int] | None


@dataclass(frozen=True)
class RePolls:
    """A contest's totals before its stations' re-polls (their polling-day forms counted) and
    after (the re-poll forms counted instead), side by side, and station by station."""

    before: Mapping[str, int]
    after: Mapping[str, int]
    stations: tuple[RePolledStation, ...]

    @property
    def change(self) -> dict[str, int]:
        """After minus before, per candidate."""
        return {c: n - self.before.get(c, 0) for c, n in self.after.items()}


def re_poll_totals(
    after: Mapping[str, int],
    stations: Iterable[tuple[str, Mapping[str, int] | None, Mapping[str, int] | None]],
) -> RePolls | None:
    """Before and after from the contest's current votes and each re-polled station's
    (polling-day votes, re-poll votes now counted); None without re-polled stations."""
    before = dict(after)
    rows = []
    for station, then, now in stations:
        for candidate, n in (now or {}).items():
            before[candidate] = before.get(candidate, 0) - n
        for candidate, n in (then or {}).items():
            before[candidate] = before.get(candidate, 0) + n
        rows.append(RePolledStation(station, dict(then or {}), dict(now) if now else None))
    return RePolls(before, dict(after), tuple(rows)) if rows else None


@dataclass(frozen=True)
class ContestView:
    """Both halves of a contest's result: the consolidation computed from the current station
    forms (Form 45), and the declared one (Form 47) once there is one. Neither hides the other;
    the official result is the declared one once declared. `re_polls`: the computed totals
    before and after the re-polls of its stations, where there were any."""

    computed: ContestResult
    declared: Declared | None = None
    re_polls: RePolls | None = None

    @property
    def official(self) -> ContestResult:
        return self.declared.result if self.declared else self.computed

    @property
    def differences(self) -> dict[str, int]:
        """Declared minus computed, per candidate, where they differ."""
        if self.declared is None:
            return {}
        computed = {s.candidate: s.votes for s in self.computed.ranking}
        return {
            s.candidate: s.votes - computed.get(s.candidate, 0)
            for s in self.declared.result.ranking
            if s.votes != computed.get(s.candidate, 0)
        }

    @property
    def winner_differs(self) -> bool:
        """The declaration's leader is not the forms' leader (with forms to compare)."""
        if self.declared is None or not self.computed.stations_reported:
            return False
        declared, computed = self.declared.result.leader, self.computed.leader
        return (declared and declared.candidate) != (computed and computed.candidate)
