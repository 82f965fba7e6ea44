"""Contest and polling-station status: what the commission ordered, and what reporting shows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tallyproof.domain.fields import FieldReader
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.structure import ElectionStructure


class ContestStatus(StrEnum):
    SCHEDULED = "scheduled"
    POLLING = "polling"
    COUNTING = "counting"
    PROVISIONAL = "provisional"
    FINAL = "final"
    POSTPONED = "postponed"
    SUSPENDED = "suspended"
    VACATED = "vacated"  # the winner renounced the seat or was disqualified


class StationStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"
    RE_POLL_ORDERED = "re_poll_ordered"


_PROGRESS = [
    ContestStatus.SCHEDULED,
    ContestStatus.POLLING,
    ContestStatus.COUNTING,
    ContestStatus.PROVISIONAL,
]
_NEEDS_REASON = {
    ContestStatus.POSTPONED,
    ContestStatus.SUSPENDED,
    ContestStatus.VACATED,
    StationStatus.SUSPENDED,
    StationStatus.RE_POLL_ORDERED,
}


@dataclass(frozen=True, slots=True)
class StatusOrder:
    """An order of the commission: a contest or station moves to a status, with the reason."""

    election: str
    scope: str  # "contest" or "station"
    target: str
    status: str
    reason: str
    time: str

    def document(self) -> dict[str, Any]:
        return {
            "election": self.election,
            "scope": self.scope,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "time": self.time,
        }


def parse_status_order(doc: object, structure: ElectionStructure) -> StatusOrder:
    """Read an order; the target must exist and postponing or suspending needs a reason."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown({"election", "scope", "target", "status", "reason", "time"})
    election = r.ident("election")
    scope = r.choice("scope", {"contest", "station"})
    target = r.ident("target")
    statuses = {s.value for s in (ContestStatus if scope == "contest" else StationStatus)}
    status = r.choice("status", statuses)
    reason = r.text("reason", required=False, max_len=500) or ""
    time = r.timestamp("time")
    if election is not None and election != structure.election.id:
        r.fail("form.unknown_election", "election", f"{election!r} is not this election")
    lookup = structure.contest if scope == "contest" else structure.station
    if scope and target and lookup(target) is None:
        r.fail(f"status.unknown_{scope}", "target", f"no {scope} {target!r}")
    if status in _NEEDS_REASON and not reason.strip():
        r.fail("status.reason_required", "reason", f"'{status}' needs the reason, e.g. why")
    if problems:
        raise Rejected(problems)
    assert election and scope and target and status and time
    return StatusOrder(election, scope, target, status, reason, time)


def effective_contest_status(
    ordered: ContestStatus, stations_reported: int, stations_total: int
) -> ContestStatus:
    """An ordered postponement, suspension or final declaration stands; otherwise reporting
    moves a contest forward: any form makes it `counting`, every station `provisional`."""
    if ordered not in _PROGRESS:
        return ordered
    derived = ContestStatus.SCHEDULED
    if stations_reported:
        derived = ContestStatus.COUNTING
    if stations_total and stations_reported >= stations_total:
        derived = ContestStatus.PROVISIONAL
    return max(ordered, derived, key=_PROGRESS.index)
