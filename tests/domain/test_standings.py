"""Seat standings: parties, and independents grouped by the party that backed them."""

from __future__ import annotations

from tallyproof.domain.consolidation import Consolidation, ResultBasis, contest_result
from tallyproof.domain.standings import seat_standings
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import parse_structure
from tests.helpers import structure_doc


def result(structure, code, votes, ordered=ContestStatus.FINAL, reported=1):
    contest = structure.contest(code)
    cons = Consolidation(code, votes, 0, sum(votes.values()), reported, 2, 1, 1)
    return contest_result(contest, cons, ResultBasis.STATIONS, ordered)


def test_independents_are_counted_apart_and_by_backing():
    doc = structure_doc()
    doc["contests"][0]["candidates"][0]["joined"] = "PTI"
    s = parse_structure(doc)
    results = [
        result(s, "NA-1", {"NA-1/a": 10, "NA-1/b": 5, "NA-1/c": 1}),
        result(s, "PP-1", {"PP-1/x": 1, "PP-1/y": 9}, ContestStatus.COUNTING),  # 1 of 2 in
    ]
    rows = {
        (r.assembly, r.side): (r.won, r.leading, r.independent) for r in seat_standings(s, results)
    }
    assert rows == {("NA", "IND (PTI-backed)"): (1, 0, True), ("PP", "PML-N"): (0, 1, False)}
    joined = {(r.assembly, r.side): r.won for r in seat_standings(s, results, after_joining=True)}
    assert joined[("NA", "PTI")] == 1
