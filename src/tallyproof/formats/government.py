"""The government answer as JSON: what GET .../government and `government --json` give."""

from __future__ import annotations

from typing import Any

from tallyproof.domain.government import Allocation, Joining, SideLine
from tallyproof.service.government import GovernmentAnswer
from tallyproof.service.reading import Answer


def government_document(answer: Answer[GovernmentAnswer]) -> dict[str, Any]:
    """Every side's general seats before and after joinings, its reserved seats and total,
    each reserved-seat pool's arithmetic, and the joinings counted (and the hypothetical)."""
    a = answer.value
    g = a.government
    return {
        "tree_size": answer.tree_size,
        "checkpoint": answer.checkpoint,
        "election": a.structure.election.id,
        "total_seats": g.total_seats,
        "general_seats": g.general_seats,
        "majority": g.majority,
        "undecided": g.undecided,
        "parties": [_line(line) for line in g.lines],
        "reserved": [_allocation(x) for x in g.allocations],
        "joinings": [
            _joining(j) | {"in_window": timely, "hypothetical": j in a.hypothetical}
            for j, timely in g.joinings
        ],
    }


def _line(line: SideLine) -> dict[str, Any]:
    return {
        "side": line.side,
        "independent": line.independent,
        "general_before": line.before,
        "general_after": line.after,
        "leading": line.leading,
        "women": line.women,
        "non_muslim": line.non_muslim,
        "total": line.total,
    }


def _allocation(x: Allocation) -> dict[str, Any]:
    return {
        "pool": x.pool,
        "seats": x.seats,
        "basis": dict(x.basis),
        "awarded": {p: n for p, n in x.awarded.items() if n},
        "by_remainder": list(x.by_remainder),
        "unallocated": x.unallocated,
    }


def _joining(j: Joining) -> dict[str, Any]:
    return {"candidate": j.candidate, "contest": j.contest, "party": j.party, "date": j.date}
