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


# The contest's state machine, judged from its current status (`current_contest_status`):
# forward along the progress chain (a returning officer may declare a contest final at any
# stage: a candidate returned unopposed has no count), postponed or suspended from any stage
# before final and lifted back to scheduled or polling, vacated only once a winner is known.
_PRE_FINAL = {*_PROGRESS, ContestStatus.POSTPONED, ContestStatus.SUSPENDED}
_INTERRUPTED = {ContestStatus.POSTPONED, ContestStatus.SUSPENDED}
CONTEST_TRANSITIONS: dict[str, frozenset[str]] = {
    ContestStatus.SCHEDULED: frozenset(
        {"polling", "counting", "provisional", "final", "postponed", "suspended"}
    ),
    ContestStatus.POLLING: frozenset(
        {"counting", "provisional", "final", "postponed", "suspended"}
    ),
    ContestStatus.COUNTING: frozenset({"provisional", "final", "postponed", "suspended"}),
    ContestStatus.PROVISIONAL: frozenset({"final", "vacated", "postponed", "suspended"}),
    ContestStatus.POSTPONED: frozenset({"scheduled", "polling", "suspended"}),
    ContestStatus.SUSPENDED: frozenset({"scheduled", "polling", "postponed"}),
    ContestStatus.FINAL: frozenset({"vacated"}),
    ContestStatus.VACATED: frozenset(),
}
# A station: suspended and lifted, or a re-poll ordered (from open or suspended); once the
# re-poll is held it is open again, and a re-poll itself can be suspended.
STATION_TRANSITIONS: dict[str, frozenset[str]] = {
    StationStatus.OPEN: frozenset({"suspended", "re_poll_ordered"}),
    StationStatus.SUSPENDED: frozenset({"open", "re_poll_ordered"}),
    StationStatus.RE_POLL_ORDERED: frozenset({"open", "suspended"}),
}


def check_transition(scope: str, current: str, new: str) -> Problem | None:
    """None when a contest or station (`scope`) may move from `current` to `new`; else the
    refusal, naming both: the status of a contest never goes back, and a final one only
    becomes vacated."""
    table = CONTEST_TRANSITIONS if scope == "contest" else STATION_TRANSITIONS
    if new in table.get(current, frozenset()):
        return None
    allowed = ", ".join(sorted(table.get(current, ()))) or "nothing (it is terminal)"
    return Problem(
        "status.illegal_transition",
        "status",
        f"the {scope} is {current}; it cannot become {new} (from {current}: {allowed})",
    )


_PROGRESS_ORDERS = frozenset({"polling", "counting", "provisional", "final"})


def judged_from(ordered: str, shown: str, new: str) -> str:
    """The status a contest order to `new` is judged from. A step along the progress chain
    is judged from the status last ordered: reporting moves the status shown on, and whether
    a form or the order reached the log first is a race the rule must not turn on (a late
    order is kept and changes nothing shown). Any other move is judged from the status shown:
    a seat is vacated only once it has a result."""
    if new in _PROGRESS_ORDERS and ordered in _PROGRESS:
        return ordered
    return shown


def current_contest_status(
    ordered: ContestStatus, stations_reported: int, stations_total: int, declared: bool
) -> ContestStatus:
    """The status a new contest order is judged from: the ordered one, moved forward by
    reporting as the read model shows it; a returning officer's declaration makes it
    provisional."""
    status = effective_contest_status(ordered, stations_reported, stations_total)
    if declared and status in _PROGRESS:
        return ContestStatus.PROVISIONAL
    return status


@dataclass(frozen=True, slots=True)
class StatusOrder:
    """An order of the commission: a contest or station moves to a status, with the reason."""

    election: str
    scope: str  # "contest" or "station"
    target: str
    status: str
    reason: str
    time: str
    re_poll_date: str | None = None  # a station's re-poll day, when the order sets one

    def document(self) -> dict[str, Any]:
        doc = {
            "election": self.election,
            "scope": self.scope,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "time": self.time,
        }
        if self.re_poll_date is not None:
            doc["re_poll_date"] = self.re_poll_date
        return doc


def parse_status_order(doc: object, structure: ElectionStructure) -> StatusOrder:
    """Read an order; the target must exist and postponing or suspending needs a reason."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown({"election", "scope", "target", "status", "reason", "time", "re_poll_date"})
    election = r.ident("election")
    scope = r.choice("scope", {"contest", "station"})
    target = r.ident("target")
    statuses = {s.value for s in (ContestStatus if scope == "contest" else StationStatus)}
    status = r.choice("status", statuses)
    reason = r.text("reason", required=False, max_len=500) or ""
    time = r.timestamp("time")
    re_poll_date = _re_poll_date(r, doc, scope, status)
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
    return StatusOrder(election, scope, target, status, reason, time, re_poll_date)


def _re_poll_date(r: FieldReader, doc: object, scope: str | None, status: str | None) -> str | None:
    """The optional day of the re-poll: only a station's re-poll or suspension carries one
    (an order without it stays valid, as orders always were)."""
    if not isinstance(doc, dict) or "re_poll_date" not in doc:
        return None
    if scope != "station" or status not in (StationStatus.RE_POLL_ORDERED, StationStatus.SUSPENDED):
        r.fail(
            "status.re_poll_date_not_allowed",
            "re_poll_date",
            "only a station's re_poll_ordered or suspended order carries a re-poll date",
        )
        return None
    return r.date("re_poll_date")


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
