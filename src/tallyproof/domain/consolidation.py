"""Consolidation (Form 47 as the system computes it) and the per-contest result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

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


def consolidate(
    structure: ElectionStructure, contest: Contest, heads: Mapping[str, FormRecord]
) -> Consolidation:
    """Sum the station forms; every candidate on the roster appears, with 0 if unreported."""
    votes = dict.fromkeys(contest.candidate_ids, 0)
    rejected = polled = registered = 0
    for station_id, record in heads.items():
        form = record.form
        for candidate, n in form.votes.items():
            votes[candidate] += n
        rejected += form.rejected
        polled += form.polled
        station = structure.station(station_id)
        registered += station.registered_voters if station else 0
    return Consolidation(
        contest=contest.code,
        votes=votes,
        rejected=rejected,
        polled=polled,
        stations_reported=len(heads),
        stations_total=len(structure.stations_of(contest.code)),
        registered_reported=registered,
        registered_total=structure.registered_voters(contest.code),
        form_ids=tuple(sorted(r.form_id for r in heads.values())),
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
        return len(self.ranking) > 1 and self.ranking[0].votes == self.ranking[1].votes

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
