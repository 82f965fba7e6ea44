"""Consolidation (Form 47 as the system computes it) and the per-contest result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tallyproof.domain.declarations import DeclaredResult
from tallyproof.domain.forms import ResultForm
from tallyproof.domain.status import ContestStatus, effective_contest_status
from tallyproof.domain.structure import Contest, ElectionStructure


@dataclass(frozen=True, slots=True)
class FormRecord:
    """An accepted form with its content id and its position in the ledger."""

    form_id: str
    seq: int
    form: ResultForm


def latest_forms(records: Iterable[FormRecord]) -> dict[tuple[str, str, str], FormRecord]:
    """The current form of every (station, contest, chain): the one nothing supersedes."""
    records = list(records)
    superseded = {r.form.supersedes for r in records if r.form.supersedes}
    return {
        (r.form.station, r.form.contest, r.form.chain): r
        for r in sorted(records, key=lambda r: r.seq)
        if r.form_id not in superseded
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
    form_ids: tuple[str, ...] = field(default=(), compare=False)

    @property
    def valid(self) -> int:
        return sum(self.votes.values())


class RunningTotal:
    """A contest's totals as station forms arrive: counting a station's current form, and
    taking back the one it supersedes. The one consolidation: `consolidate` is a running
    total fed every current form at once; the read side keeps one per contest as it goes."""

    def __init__(self, contest: Contest) -> None:
        self.contest = contest
        self.votes: dict[str, int] = dict.fromkeys(contest.candidate_ids, 0)
        self.rejected = 0
        self.polled = 0
        self.counted: dict[str, FormRecord] = {}  # station -> the form counted for it

    def count(self, station: str, record: FormRecord) -> None:
        """Count `record` as the station's form, in place of any counted before."""
        old = self.counted.get(station)
        if old is not None:
            self._add(old.form, -1)
        self._add(record.form, 1)
        self.counted[station] = record

    def _add(self, form: ResultForm, sign: int) -> None:
        votes = self.votes
        for candidate, n in form.votes.items():
            votes[candidate] = votes.get(candidate, 0) + sign * n
        self.rejected += sign * form.rejected
        self.polled += sign * form.polled

    def consolidation(self, structure: ElectionStructure) -> Consolidation:
        registered = 0
        for station_id in self.counted:
            station = structure.station(station_id)
            registered += station.registered_voters if station else 0
        return Consolidation(
            contest=self.contest.code,
            votes=dict(self.votes),
            rejected=self.rejected,
            polled=self.polled,
            stations_reported=len(self.counted),
            stations_total=len(structure.stations_of(self.contest.code)),
            registered_reported=registered,
            registered_total=structure.registered_voters(self.contest.code),
            form_ids=tuple(sorted(r.form_id for r in self.counted.values())),
        )


def consolidate(
    structure: ElectionStructure, contest: Contest, heads: Mapping[str, FormRecord]
) -> Consolidation:
    """Sum the station forms; every candidate on the roster appears, with 0 if unreported."""
    total = RunningTotal(contest)
    for station_id, record in heads.items():
        total.count(station_id, record)
    return total.consolidation(structure)


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
    """What a results page shows for one contest."""

    contest: str
    name: str
    assembly: str
    status: ContestStatus
    status_reason: str
    basis: ResultBasis
    ranking: tuple[Standing, ...]
    rejected: int
    polled: int
    stations_reported: int
    stations_total: int
    registered_reported: int
    registered_total: int

    @property
    def tied(self) -> bool:
        """The top two have the same votes, and some: a contest with no votes is not tied."""
        top = self.ranking
        return len(top) > 1 and top[0].votes == top[1].votes and top[0].votes > 0

    @property
    def leader(self) -> Standing | None:
        """The candidate ahead; None before any votes or when the top two are tied."""
        if not self.ranking or self.ranking[0].votes == 0 or self.tied:
            return None
        return self.ranking[0]

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


def contest_result(
    contest: Contest,
    consolidation: Consolidation,
    basis: ResultBasis,
    ordered: ContestStatus,
    reason: str = "",
) -> ContestResult:
    """Rank the candidates (by votes, then roster order for a stable tie display)."""
    order = {cid: i for i, cid in enumerate(contest.candidate_ids)}
    ranking = tuple(
        Standing(k.id, k.name, k.affiliation, consolidation.votes.get(k.id, 0))
        for k in sorted(
            contest.candidates, key=lambda k: (-consolidation.votes.get(k.id, 0), order[k.id])
        )
    )
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
        ranking=ranking,
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
class ContestView:
    """Both halves of a contest's result: the consolidation computed from the current station
    forms (Form 45), and the declared one (Form 47) once there is one. Neither hides the other;
    the official result is the declared one once declared."""

    computed: ContestResult
    declared: Declared | None = None

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
