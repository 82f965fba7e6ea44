"""The Pakistan checks: rejected votes against the margin, NA against PA ballots polled, and a
copy for a contest its station does not vote in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tallyproof.domain.checks import (
    DEFAULT_TOLERANCE,
    NA_PA_POLLED_DIFFER,
    REJECTED_EXCEED_MARGIN,
    STATION_NOT_IN_CONTEST,
    PolledCount,
    PolledTolerance,
    contest_checks,
    margin,
    na_pa_pair,
    na_pa_polled_differ,
    rejected_exceed_margin,
    station_not_in_contest,
)
from tallyproof.domain.consolidation import Consolidation
from tallyproof.domain.declarations import parse_declaration
from tallyproof.domain.findings import Severity
from tallyproof.domain.reconciliation import DeclarationRecord
from tallyproof.domain.structure import parse_structure
from tests.helpers import ELECTION, structure_doc

STRUCTURE = parse_structure(structure_doc())
NA1 = STRUCTURE.contest("NA-1")


def cons(votes: tuple[int, int, int], rejected: int, reported: int = 4) -> Consolidation:
    return Consolidation(
        contest="NA-1",
        votes=dict(zip(("NA-1/a", "NA-1/b", "NA-1/c"), votes, strict=True)),
        rejected=rejected,
        polled=sum(votes) + rejected,
        stations_reported=reported,
        stations_total=4,
        registered_reported=1000 * reported,
        registered_total=4000,
    )


def declared(votes: tuple[int, int, int], rejected: int | None) -> DeclarationRecord:
    doc = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": dict(zip(("NA-1/a", "NA-1/b", "NA-1/c"), votes, strict=True)),
        "time": "2024-02-09T12:00:00+05:00",
    }
    if rejected is not None:
        doc["rejected"] = rejected
    return DeclarationRecord("decl-1", 9, parse_declaration(doc))


def test_margin_is_leader_minus_runner_up():
    assert margin({"a": 500, "b": 420, "c": 10}) == 80
    assert margin({"a": 7}) == 7
    assert margin({"a": 5, "b": 5}) == 0
    assert margin({}) == 0


def test_rejected_over_the_margin_is_a_finding_naming_both_numbers():
    found = rejected_exceed_margin(NA1, {"NA-1/a": 500, "NA-1/b": 480}, 21, basis="stations")
    assert found is not None
    assert (found.code, found.severity, found.contest) == (
        REJECTED_EXCEED_MARGIN,
        Severity.HIGH,
        "NA-1",
    )
    assert found.evidence == {"basis": "stations", "rejected": 21, "margin": 20, "excess": 1}
    assert "21 rejected votes exceed the margin of victory (20)" in found.message


def test_rejected_equal_to_the_margin_is_not():
    assert rejected_exceed_margin(NA1, {"NA-1/a": 500, "NA-1/b": 480}, 20, basis="x") is None
    assert rejected_exceed_margin(NA1, {"NA-1/a": 0, "NA-1/b": 0}, 20, basis="x") is None


@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    st.integers(0, 10**6),
)
def test_the_margin_check_fires_exactly_when_rejected_exceed_the_margin(votes, rejected):
    tally = {f"NA-1/{i}": v for i, v in enumerate(votes)}
    ranked = [*sorted(votes, reverse=True), 0]
    lead = ranked[0] - ranked[1]
    found = rejected_exceed_margin(NA1, tally, rejected, basis="stations")
    assert (found is not None) == (rejected > lead and sum(votes) > 0)
    if found is not None:
        assert found.evidence["excess"] == rejected - lead > 0


def test_contest_checks_look_at_the_count_only_once_every_station_reported():
    assert contest_checks(NA1, cons((500, 480, 5), 30, reported=3), []) == []
    (found,) = contest_checks(NA1, cons((500, 480, 5), 30), [])
    assert found.evidence["basis"] == "stations"


def test_contest_checks_look_at_each_declared_result_that_states_rejected():
    records = [declared((900, 850, 10), 60), declared((900, 850, 10), None)]
    (found,) = contest_checks(NA1, cons((500, 480, 5), 0, reported=1), records)
    assert found.evidence == {
        "basis": "declared",
        "rejected": 60,
        "margin": 50,
        "excess": 10,
        "declaration": "decl-1",
    }
    assert "in the declared result" in found.message


def test_the_station_serves_one_na_and_one_pa_contest():
    assert na_pa_pair(STRUCTURE, "S1") == ("NA-1", "PP-1")
    assert na_pa_pair(STRUCTURE, "S99") is None
    doc = structure_doc()
    doc["stations"][0]["contests"] = ["NA-1"]
    assert na_pa_pair(parse_structure(doc), "S1") is None


def test_default_tolerance_is_ten_ballots_and_one_percent():
    assert PolledTolerance(10, 0.01) == DEFAULT_TOLERANCE
    assert not DEFAULT_TOLERANCE.exceeded(600, 590)  # 10 ballots: within
    assert DEFAULT_TOLERANCE.exceeded(600, 589)  # 11 ballots, 1.8 %
    assert not DEFAULT_TOLERANCE.exceeded(5000, 4960)  # 40 ballots but 0.8 %
    assert DEFAULT_TOLERANCE.exceeded(5000, 4949)  # 51 ballots, 1.02 %


def test_na_and_pa_polled_apart_is_a_finding_naming_both_forms():
    na, pa = PolledCount("f-na", "NA-1", 610), PolledCount("f-pa", "PP-1", 540)
    found = na_pa_polled_differ("S1", na, pa)
    assert found is not None
    assert (found.code, found.severity, found.contest, found.station) == (
        NA_PA_POLLED_DIFFER,
        Severity.MEDIUM,
        "NA-1",
        "S1",
    )
    assert found.evidence["forms"] == ["f-na", "f-pa"]
    assert found.evidence["polled"] == [610, 540]
    assert found.evidence["difference"] == 70
    assert na_pa_polled_differ("S1", na, PolledCount("f-pa", "PP-1", 605)) is None


@given(
    st.integers(0, 5000),
    st.integers(0, 5000),
    st.integers(0, 100),
    st.floats(0, 0.5, allow_nan=False),
)
def test_the_polled_check_fires_only_beyond_both_tolerances(a, b, absolute, relative):
    tolerance = PolledTolerance(absolute, relative)
    found = na_pa_polled_differ(
        "S1", PolledCount("x", "NA-1", a), PolledCount("y", "PP-1", b), tolerance
    )
    gap = abs(a - b)
    assert (found is not None) == (gap > absolute and gap > relative * max(a, b))
    # the check is symmetric: which count is the larger does not matter
    swapped = na_pa_polled_differ(
        "S1", PolledCount("x", "NA-1", b), PolledCount("y", "PP-1", a), tolerance
    )
    assert (swapped is None) == (found is None)


def test_a_recorded_copy_for_a_contest_its_station_does_not_serve():
    doc = structure_doc()
    doc["stations"][0]["contests"] = ["PP-1"]
    structure = parse_structure(doc)
    found = station_not_in_contest(structure, "f1" * 8, "S1", "NA-1", "observer:FAFEN")
    assert found is not None
    assert (found.code, found.contest, found.station) == (STATION_NOT_IN_CONTEST, "NA-1", "S1")
    assert found.evidence == {"forms": ["f1" * 8], "source": "observer:FAFEN", "serves": ["PP-1"]}
    assert station_not_in_contest(structure, "f2", "S2", "NA-1", "observer:FAFEN") is None
    assert station_not_in_contest(structure, "f3", "S99", "NA-1", "observer:FAFEN") is None
