"""Government arithmetic from the read model: seats from the log, joinings, what-ifs."""

from __future__ import annotations

import pytest

from tallyproof.domain.government import Scenario
from tallyproof.domain.problems import Rejected
from tallyproof.service.government import government_answer, parse_what_if
from tallyproof.service.reading import ReadModel
from tests.helpers import ELECTION, form_doc, make_election


def _declared(e, votes=(500, 200, 100)):
    """NA-1 (Khyber Pakhtunkhwa by its number) declared: Aamir, an independent backed by
    PTI, wins."""
    e.submit(form_doc(station="S1", votes=votes))
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    named = dict(zip(["NA-1/a", "NA-1/b", "NA-1/c"], votes, strict=True))
    assert e.declare(body | {"votes": named, "time": "2024-02-09T10:00:00Z"}).accepted


def _lines(answer):
    return {line.side: line for line in answer.value.government.lines}


def test_an_independent_holds_no_reserved_seat_until_he_joins(tmp_path, store_url):
    e = make_election(tmp_path / "h", store_url)
    _declared(e)
    model = ReadModel.open(e.ctx.settings)
    answer = government_answer(model, ELECTION)
    assert answer.tree_size == e.ctx.state.size
    assert _lines(answer)["IND (PTI-backed)"].after == 1
    assert all(
        not a.awarded or sum(a.awarded.values()) == 0 for a in answer.value.government.allocations
    )
    assert answer.value.government.undecided == 265
    # what if he joins PML-N: PML-N holds KP's only counted seat, so all 10 of KP's women's
    # seats (10 * 1/1) and all 10 non-Muslim seats; 1 + 10 + 10 = 21
    joined = government_answer(model, ELECTION, what_if=parse_what_if(["NA-1/a=PML-N"]))
    assert _lines(joined)["PML-N"].total == 21
    assert (
        _lines(joined)["IND (PTI-backed)"].before,
        _lines(joined)["IND (PTI-backed)"].after,
    ) == (
        1,
        0,
    )
    # the same by naming the backing party; excluding PML-N leaves all 70 unallocated, as
    # no other party holds a counted seat
    backed = government_answer(model, ELECTION, what_if=[("backed:PTI", "PML-N")])
    assert _lines(backed)["PML-N"].total == 21
    out = government_answer(
        model,
        ELECTION,
        what_if=[("backed:PTI", "PML-N")],
        scenario=Scenario(exclude=frozenset({"PML-N"})),
    )
    assert sum(a.unallocated for a in out.value.government.allocations) == 70


def test_a_leading_candidate_is_not_yet_counted_for_reserved_seats(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1", votes=(100, 300, 0)))
    model = ReadModel.open(e.ctx.settings)
    answer = government_answer(model, ELECTION)
    assert _lines(answer)["PML-N"].leading == 1
    assert _lines(answer)["PML-N"].women == 0


def test_bad_what_ifs_are_refused_with_their_rule(tmp_path):
    e = make_election(tmp_path / "h")
    _declared(e)
    model = ReadModel.open(e.ctx.settings)
    with pytest.raises(Rejected, match=r"government\.what_if at what_if\[0\]"):
        parse_what_if(["NA-1/a"])
    with pytest.raises(Rejected, match=r"government\.not_returned"):
        government_answer(model, ELECTION, what_if=[("NA-1/c", "PTI")])
    with pytest.raises(Rejected, match=r"government\.unknown_party"):
        government_answer(model, ELECTION, what_if=[("NA-1/a", "XYZ")])
