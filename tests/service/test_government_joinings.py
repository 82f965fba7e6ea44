"""The government arithmetic reads the ledger's joining events: dated, as of a tree size."""

from __future__ import annotations

from tallyproof.domain.government import Scenario
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.service import events
from tallyproof.service.government import government_answer
from tallyproof.service.reading import ReadModel
from tests.helpers import ELECTION, form_doc, make_election


def _lines(answer):
    return {line.side: line for line in answer.value.government.lines}


def test_a_logged_joining_moves_the_seat_and_its_date_decides_the_reserved_seats(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1", votes=(500, 200, 100)))
    declared = {"NA-1/a": 500, "NA-1/b": 200, "NA-1/c": 100}  # NA-1/a: independent, PTI-backed
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    assert e.declare(body | {"votes": declared, "time": "2024-02-09T10:00:00Z"}).accepted
    e.ctx.publish_checkpoint()
    before = e.ctx.refresh().size
    join = {
        "election": ELECTION,
        "type": "joining",
        "contest": "NA-1",
        "candidate": "NA-1/a",
        "party": "PML-N",
        "date": "2024-02-19",
        "time": "2024-02-19T12:00:00+05:00",
    }
    assert events.submit_event(e.ctx, sign(EntryKind.EVENT, join, e.admin).envelope()).accepted
    e.ctx.publish_checkpoint()
    model = ReadModel.open(e.ctx.settings)

    # before the event: the seat is an independent's, and no party holds a counted seat
    then = government_answer(model, ELECTION, as_of=before)
    assert _lines(then)["IND (PTI-backed)"].after == 1 and "PML-N" not in _lines(then)
    # after it, with the notification date unknown, the joining counts: PML-N holds KP's
    # only counted seat, so KP's 10 women's seats (10 * 1/1) and the 10 non-Muslim seats
    # (10 * 1/1) go to it: 1 + 10 + 10 = 21
    now = government_answer(model, ELECTION)
    assert _lines(now)["PML-N"].total == 21
    assert sum(a.unallocated for a in now.value.government.allocations) == 70 - 20
    joined = [
        (j.candidate, j.party, j.date, in_time) for j, in_time in now.value.government.joinings
    ]
    assert joined == [("NA-1/a", "PML-N", "2024-02-19", True)]
    # notified on 13 February, the window closed on the 16th: the seat is PML-N's in the
    # house, but counts for no reserved seat: no party holds a counted seat anywhere, so all
    # 70 (32 + 14 + 10 + 4 women's, 10 non-Muslims') go unallocated
    late = government_answer(model, ELECTION, scenario=Scenario(notified="2024-02-13"))
    assert _lines(late)["PML-N"].total == 1
    assert sum(a.unallocated for a in late.value.government.allocations) == 70
