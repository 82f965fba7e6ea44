"""A hand-built night whose every logged time is set, so each results delay is known: polls
close at 17:00 PKT (12:00 UTC); the test election's four stations each serve NA-1 and PP-1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ELECTION, form_doc, make_election

HOUR = 3600.0


@dataclass
class SetClock:
    """The writer's clock, set by the test before each submission."""

    now: str = "2024-02-08T13:00:00.000Z"

    def __call__(self) -> str:
        return self.now


def at(clock: SetClock, hhmmss: str) -> None:
    clock.now = f"2024-02-08T{hhmmss}.000Z"


def build_night(home: Path, url: str | None = None) -> int:
    """The night: NA-1 reported by all four stations (S1 corrected later) and declared;
    PP-1 by S1 only (an agent's copy from S3 does not count) and never declared. Gives
    the tree size just before S4's NA-1 form."""
    e = make_election(home, url)
    clock = SetClock()
    e.ctx.clock = clock
    at(clock, "13:30:00")
    first = e.submit_one(form_doc("S1"))
    at(clock, "14:00:00")
    assert all(
        o.accepted for o in e.submit(form_doc("S2"), form_doc("S1", (50, 40), 2, contest="PP-1"))
    )
    at(clock, "14:30:00")
    assert e.submit_one(form_doc("S3", (60, 30), 1, "agent:PTI", "PP-1"), key=e.agent).accepted
    at(clock, "15:00:00")
    corrected = form_doc("S1", (301, 199, 100), supersedes=first.entry_id, reason="correction")
    assert e.submit_one(corrected).accepted
    at(clock, "16:15:30")
    assert e.submit_one(form_doc("S3")).accepted
    with e.ctx.store.read() as reader:
        before_s4 = reader.ledger_size()
    at(clock, "18:00:00")
    assert e.submit_one(form_doc("S4")).accepted
    at(clock, "20:00:00")
    declaration = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": {"NA-1/a": 1200, "NA-1/b": 800, "NA-1/c": 400},
        "time": "2024-02-09T01:00:00+05:00",
    }
    assert e.declare(declaration).accepted, e.declare(declaration).problems
    e.ctx.close()
    return before_s4
