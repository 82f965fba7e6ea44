"""Results delay's definitions on values: durations, completeness, curves and the ranking."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyproof.domain.delay import (
    ContestArrivals,
    ContestDelay,
    ElectionDelay,
    SlowestBy,
    contest_delays,
    curve,
    default_close,
    parse_close,
    slowest,
)
from tallyproof.domain.problems import Rejected
from tallyproof.domain.structure import parse_structure
from tests.helpers import structure_doc

CLOSE = datetime.fromisoformat("2024-02-08T17:00:00+05:00")


def test_the_default_close_is_five_in_the_afternoon_pakistan_time():
    structure = parse_structure(structure_doc())
    assert default_close(structure) == "2024-02-08T17:00:00+05:00"


def test_durations_count_only_a_contest_every_station_reported_as_finished():
    structure = parse_structure(structure_doc(stations=3))
    arrivals = {
        "NA-1": ContestArrivals("NA-1", 3, "2024-02-08T12:10:00.000Z", "2024-02-09T01:00:30.500Z"),
        "PP-1": ContestArrivals("PP-1", 2, "2024-02-08T11:59:00.000Z", "2024-02-08T13:00:00.000Z"),
    }
    declared = {"NA-1": "2024-02-09T03:00:00.000Z"}
    na, pp = contest_delays(structure, CLOSE, arrivals, declared)
    assert (na.to_first_form, na.to_all_forms, na.to_declared) == (600.0, 46830.5, 54000.0)
    assert na.complete and na.all_forms_at == "2024-02-09T01:00:30.500Z"
    assert pp.to_first_form == -60.0  # logged before the close: said, not hidden
    assert (pp.complete, pp.to_all_forms, pp.to_declared) == (False, None, None)


def test_a_contest_nobody_reported_for_has_no_times():
    structure = parse_structure(structure_doc(stations=2))
    na, _ = contest_delays(structure, CLOSE, {}, {})
    assert (na.reported, na.stations, na.first_form_at, na.complete) == (0, 2, None, False)


@pytest.mark.parametrize("text", ["2024-02-08T17:00:00", "17:00", ""])
def test_a_close_must_carry_its_offset(text):
    with pytest.raises(Rejected) as refused:
        parse_close(text)
    assert refused.value.problems[0].code == "delay.bad_close"


def _delay(contests: list[ContestDelay], elapsed: float | None) -> ElectionDelay:
    empty = curve("national", 0, CLOSE, [])
    return ElectionDelay("e", CLOSE.isoformat(), None, elapsed, tuple(contests), empty, ())


def _contest(code: str, reported: int, took: float | None, postponed: bool = False):
    at = "x" if took is not None else None
    return ContestDelay(code, "NA", 10, reported, postponed, None, at, None, 0.0, took, None)


def test_slowest_puts_unfinished_first_then_the_longest_and_leaves_out_postponed():
    contests = [
        _contest("A", 10, 3600.0),
        _contest("B", 10, 7200.0),
        _contest("C", 4, None),
        _contest("D", 9, None),
        _contest("P", 0, None, postponed=True),
    ]
    ranked = slowest(_delay(contests, 9000.0), 10)
    assert [c.contest for c in ranked] == ["C", "D", "B", "A"]  # C has less reported than D
    assert [c.contest for c in slowest(_delay(contests, 9000.0), 10, SlowestBy.DECLARED)] == [
        "C", "D", "A", "B"
    ]  # fmt: skip  # none declared: all tie on time, then by share reported, then code


minutes = st.lists(
    st.tuples(
        st.datetimes(min_value=datetime(2024, 2, 8, 12), max_value=datetime(2024, 2, 10, 12)).map(
            lambda d: d.strftime("%Y-%m-%dT%H:%M")
        ),
        st.integers(1, 500),
    ),
    unique_by=lambda x: x[0],
    max_size=50,
)


@given(minutes)
def test_a_curve_is_cumulative_in_time_order_and_ends_at_the_total(per_minute):
    points = curve("NA", 10_000, CLOSE, per_minute).points
    assert [p.minute for p in points] == sorted(m for m, _ in per_minute)
    assert all(a.reported < b.reported for a, b in pairwise(points))
    assert all(a.after_close < b.after_close for a, b in pairwise(points))
    assert (points[-1].reported if points else 0) == sum(n for _, n in per_minute)


@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.one_of(st.none(), st.floats(0, 8000))),
        min_size=1,
        max_size=30,
    ),
    st.integers(0, 40),
)
def test_an_unfinished_contest_never_ranks_below_a_finished_one(rows, n):
    contests = [
        _contest(f"C{i}", 10 if took is not None else min(r, 9), took)
        for i, (r, took) in enumerate(rows)
    ]
    ranked = slowest(_delay(contests, 9000.0), n)
    assert len(ranked) == min(n, len(contests))
    done = [c.complete for c in ranked]
    assert done == sorted(done)  # every unfinished one before every finished one
    took = [c.to_all_forms for c in ranked if c.complete]
    assert took == sorted(took, reverse=True)
