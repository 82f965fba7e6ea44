"""Pakistan checks: findings about numbers that are each acceptable on their own but, put
together, deserve scrutiny (docs/rules.md, "Pakistan checks"). Pure: values in, findings out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tallyproof.domain.consolidation import Consolidation
from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.reconciliation import DeclarationRecord
from tallyproof.domain.structure import AssemblyLevel, Contest, ElectionStructure

REJECTED_EXCEED_MARGIN = "contest.rejected_exceed_margin"
NA_PA_POLLED_DIFFER = "station.na_pa_polled_differ"
STATION_NOT_IN_CONTEST = "form.station_not_in_contest"


def margin(votes: Mapping[str, int]) -> int:
    """The leader's votes minus the runner-up's (0 on a tie; a lone candidate's own votes)."""
    top = sorted(votes.values(), reverse=True)[:2]
    if not top:
        return 0
    return top[0] - (top[1] if len(top) > 1 else 0)


def rejected_exceed_margin(
    contest: Contest,
    votes: Mapping[str, int],
    rejected: int,
    *,
    basis: str,
    declaration: str | None = None,
) -> Finding | None:
    """Rejected ballots outnumber the winner's lead: re-examining them alone could change
    who won, so the rejections deserve scrutiny (a recount petition's usual first ask).
    `basis` says which count: "stations" (the polling-station forms) or "declared"."""
    lead = margin(votes)
    if sum(votes.values()) == 0 or rejected <= lead:
        return None
    evidence: dict[str, object] = {
        "basis": basis,
        "rejected": rejected,
        "margin": lead,
        "excess": rejected - lead,
    }
    if declaration is not None:
        evidence["declaration"] = declaration
    which = "declared result" if basis == "declared" else "polling-station forms"
    return Finding(
        code=REJECTED_EXCEED_MARGIN,
        severity=Severity.HIGH,
        message=(
            f"{contest.code}: {rejected:,} rejected votes exceed the margin of victory "
            f"({lead:,}) in the {which}"
        ),
        contest=contest.code,
        evidence=evidence,
    )


def contest_checks(
    contest: Contest, computed: Consolidation, declarations: Sequence[DeclarationRecord]
) -> list[Finding]:
    """The contest-level Pakistan checks: on the polling-station count once every station
    has reported (while counting, the margin moves with each form), and on each declared
    result that states its rejected votes."""
    found: list[Finding] = []
    complete = 0 < computed.stations_total <= computed.stations_reported
    if complete:
        hit = rejected_exceed_margin(contest, computed.votes, computed.rejected, basis="stations")
        found += [hit] if hit else []
    for record in declarations:
        decl = record.declaration
        if decl.rejected is None:
            continue
        hit = rejected_exceed_margin(
            contest,
            decl.votes,
            decl.rejected,
            basis="declared",
            declaration=record.declaration_id,
        )
        found += [hit] if hit else []
    return found


@dataclass(frozen=True, slots=True)
class PolledTolerance:
    """How far the NA and PA ballots polled at one station may differ before it is a
    finding: more than `absolute` ballots AND more than `relative` of the larger count.
    Every voter takes one NA and one PA ballot at the same station, so the counts differ
    only by voters who left with one ballot or the odd misplaced paper."""

    absolute: int = 10
    relative: float = 0.01

    def exceeded(self, a: int, b: int) -> bool:
        gap = abs(a - b)
        return gap > self.absolute and gap > self.relative * max(a, b)


DEFAULT_TOLERANCE = PolledTolerance()


@dataclass(frozen=True, slots=True)
class PolledCount:
    """One official form's ballots polled: what the NA/PA check compares."""

    form_id: str
    contest: str
    polled: int


def na_pa_pair(structure: ElectionStructure, station: str) -> tuple[str, str] | None:
    """The station's National Assembly contest and its provincial one, when it serves
    exactly one of each (a Pakistani general election's station); else None."""
    known = structure.station(station)
    if known is None:
        return None
    by_level: dict[AssemblyLevel, list[str]] = {}
    for code in known.contests:
        contest = structure.contest(code)
        assembly = structure.assembly(contest.assembly) if contest else None
        if assembly is not None:
            by_level.setdefault(assembly.level, []).append(code)
    national = by_level.get(AssemblyLevel.NATIONAL, [])
    provincial = by_level.get(AssemblyLevel.PROVINCIAL, [])
    if len(national) == 1 and len(provincial) == 1:
        return national[0], provincial[0]
    return None


def na_pa_polled_differ(
    station: str,
    na: PolledCount,
    pa: PolledCount,
    tolerance: PolledTolerance = DEFAULT_TOLERANCE,
) -> Finding | None:
    """The NA and PA forms of one station give ballots polled further apart than the
    tolerance: ballots were added to one count or lost from the other. The finding is the
    NA contest's, and names both forms."""
    if not tolerance.exceeded(na.polled, pa.polled):
        return None
    return Finding(
        code=NA_PA_POLLED_DIFFER,
        severity=Severity.MEDIUM,
        message=(
            f"{station}: {na.polled:,} ballots polled for {na.contest} but {pa.polled:,} for "
            f"{pa.contest} ({na.polled - pa.polled:+,}; tolerance {tolerance.absolute} ballots "
            f"and {tolerance.relative:.1%})"
        ),
        contest=na.contest,
        station=station,
        evidence={
            "forms": [na.form_id, pa.form_id],
            "contests": [na.contest, pa.contest],
            "polled": [na.polled, pa.polled],
            "difference": na.polled - pa.polled,
            "tolerance": {"absolute": tolerance.absolute, "relative": tolerance.relative},
        },
    )


def station_not_in_contest(
    structure: ElectionStructure, form_id: str, station: str, contest: str, source: str
) -> Finding | None:
    """A recorded copy (an observer's, an agent's) for a contest its station does not vote
    in: kept as that source's evidence, and this finding says where it does not fit.
    Official forms never get here: they are refused (`form.station_not_serving_contest`)."""
    known = structure.station(station)
    if known is None or contest in known.contests:
        return None
    return Finding(
        code=STATION_NOT_IN_CONTEST,
        severity=Severity.MEDIUM,
        message=(
            f"{source}'s form {form_id[:12]} reports {contest} at {station}, which votes "
            f"only in {', '.join(known.contests) or 'no contest'}"
        ),
        contest=contest,
        station=station,
        evidence={"forms": [form_id], "source": source, "serves": list(known.contests)},
    )
