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


def seat_standings(
    structure: ElectionStructure, results: Iterable[ContestResult], *, after_joining: bool = False
) -> list[StandingRow]:
    """Count winners (provisional or final) and leaders (still counting) per assembly.
    With `after_joining`, independents who joined a party after the poll count for it."""
    won: Counter[tuple[str, str, bool]] = Counter()
    leading: Counter[tuple[str, str, bool]] = Counter()
    for result in results:
        standing = result.winner or result.leader
        if standing is None:
            continue
        found = structure.candidate(standing.candidate)
        if found is None:
            continue
        candidate = found[1]
        if after_joining and candidate.joined:
            key = (result.assembly, candidate.joined, False)
        else:
            key = (result.assembly, candidate.affiliation, candidate.independent)
        (won if result.winner else leading)[key] += 1
    keys = set(won) | set(leading)
    order = {a.code: i for i, a in enumerate(structure.assemblies)}
    return sorted(
        (
            StandingRow(a, side, ind, won[(a, side, ind)], leading[(a, side, ind)])
            for a, side, ind in keys
        ),
        key=lambda r: (order.get(r.assembly, 99), -(r.won + r.leading), r.independent, r.side),
    )
