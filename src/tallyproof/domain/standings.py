"""Seat standings per assembly: seats won (and led) by party; independents by their backing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tallyproof.domain.consolidation import ContestResult
from tallyproof.domain.structure import ElectionStructure


@dataclass(frozen=True, slots=True)
class StandingRow:
    assembly: str
    side: str  # a party code, "IND (PTI-backed)" or "IND"
    independent: bool
    won: int
    leading: int


Side = tuple[str, str, bool]  # assembly, side, independent


def seat_side(
    structure: ElectionStructure, result: ContestResult, *, after_joining: bool = False
) -> tuple[Side, bool] | None:
    """Where a contest counts in the standings, and whether as won (provisional or final) or
    as led (still counting); None with no one ahead. With `after_joining`, an independent who
    joined a party after the poll counts for it."""
    standing = result.winner or result.leader
    if standing is None:
        return None
    found = structure.candidate(standing.candidate)
    if found is None:
        return None
    candidate = found[1]
    if after_joining and candidate.joined:
        return (result.assembly, candidate.joined, False), result.winner is not None
    side = (result.assembly, candidate.affiliation, candidate.independent)
    return side, result.winner is not None


def seat_standings(
    structure: ElectionStructure, results: Iterable[ContestResult], *, after_joining: bool = False
) -> list[StandingRow]:
    """Count winners (provisional or final) and leaders (still counting) per assembly."""
    won: Counter[Side] = Counter()
    leading: Counter[Side] = Counter()
    for result in results:
        seat = seat_side(structure, result, after_joining=after_joining)
        if seat is not None:
            (won if seat[1] else leading)[seat[0]] += 1
    return standing_rows(structure, won, leading)


def standing_rows(
    structure: ElectionStructure, won: Counter[Side], leading: Counter[Side]
) -> list[StandingRow]:
    """The rows of a standings table from its counts, in the assemblies' order, largest first."""
    keys = {k for k, n in won.items() if n} | {k for k, n in leading.items() if n}
    order = {a.code: i for i, a in enumerate(structure.assemblies)}
    return sorted(
        (
            StandingRow(a, side, ind, won[(a, side, ind)], leading[(a, side, ind)])
            for a, side, ind in keys
        ),
        key=lambda r: (order.get(r.assembly, 99), -(r.won + r.leading), r.independent, r.side),
    )
