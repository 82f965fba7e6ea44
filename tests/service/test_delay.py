"""Results delay on a hand-built night whose every time is set, so each duration is known:
polls close at 17:00 PKT (12:00 UTC); the test election's four stations each serve NA-1 and
PP-1."""

from __future__ import annotations

import pytest

from tallyproof.domain.delay import SlowestBy, slowest
from tallyproof.domain.problems import Rejected
from tallyproof.service.reading import ReadModel, parse_as_of
from tallyproof.service.settings import Settings
from tests.delaying import HOUR, build_night
from tests.helpers import ELECTION


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    home = tmp_path_factory.mktemp("delay")
    return home, build_night(home)


@pytest.fixture
def model(night):
    model = ReadModel.open(Settings.at(night[0]))
    yield model
    model.close()


def test_durations_are_from_the_close_to_the_logged_times(model):
    answer = model.delay(ELECTION)
    na = answer.value.contest("NA-1")
    assert na is not None
    assert na.to_first_form == 1.5 * HOUR  # 13:30 UTC is 18:30 PKT
    assert na.first_form_at == "2024-02-08T13:30:00.000Z"
    assert na.to_all_forms == 6 * HOUR  # S4 at 18:00 UTC
    assert na.to_declared == 8 * HOUR
    assert (na.stations, na.reported, na.complete) == (4, 4, True)
    assert answer.value.elapsed == 8 * HOUR  # the declaration is the last entry


def test_a_corrected_form_keeps_the_station_first_report_time(model):
    """S1's correction at 15:00 supersedes its 13:30 form: still reported at 13:30, and
    counted once."""
    value = model.delay(ELECTION).value
    na = value.contest("NA-1")
    assert na is not None and na.reported == 4
    curve = {p.minute: p.reported for p in value.assemblies[0].points}
    assert curve == {
        "2024-02-08T13:30": 1,
        "2024-02-08T14:00": 2,
        "2024-02-08T16:15": 3,
        "2024-02-08T18:00": 4,
    }


def test_an_incomplete_undeclared_contest_has_no_finish_times(model):
    """PP-1: S1's official form only; the agent's copy from S3 is evidence, not a report."""
    pp = model.delay(ELECTION).value.contest("PP-1")
    assert pp is not None
    assert (pp.reported, pp.stations, pp.complete) == (1, 4, False)
    assert pp.to_first_form == 2 * HOUR
    assert pp.to_all_forms is None and pp.to_declared is None


def test_the_national_curve_counts_each_station_once(model):
    value = model.delay(ELECTION).value
    national = value.national
    assert national.stations == 4
    assert [(p.minute, p.reported) for p in national.points] == [
        ("2024-02-08T13:30", 1),
        ("2024-02-08T14:00", 2),
        ("2024-02-08T16:15", 3),
        ("2024-02-08T18:00", 4),
    ]
    assert national.points[0].after_close == 1.5 * HOUR + 59.999
    pp_curve = value.assemblies[1]
    assert (pp_curve.name, pp_curve.stations) == ("PP", 4)
    assert [(p.minute, p.reported) for p in pp_curve.points] == [("2024-02-08T14:00", 1)]


def test_slowest_ranks_unfinished_contests_by_time_so_far(model):
    value = model.delay(ELECTION).value
    assert [c.contest for c in slowest(value, 5)] == ["PP-1", "NA-1"]
    assert [c.contest for c in slowest(value, 1, SlowestBy.DECLARED)] == ["PP-1"]
    assert slowest(value, 0) == []


def test_as_of_an_earlier_size_is_the_night_as_it_stood(model, night):
    earlier = model.delay(ELECTION, as_of=night[1])
    assert earlier.tree_size == night[1]
    na = earlier.value.contest("NA-1")
    assert na is not None
    assert (na.reported, na.complete, na.to_declared) == (3, False, None)
    assert earlier.value.elapsed == 4 * HOUR + 15 * 60 + 30  # S3's form at 16:15:30 UTC
    assert earlier.value.as_of_time == "2024-02-08T16:15:30.000Z"
    by_time = model.delay(ELECTION, as_of=parse_as_of("2024-02-08T21:20:00+05:00"))
    assert by_time.tree_size == night[1]


def test_the_close_can_be_given(model):
    value = model.delay(ELECTION, close="2024-02-08T18:00:00+05:00").value
    na = value.contest("NA-1")
    assert na is not None and na.to_first_form == 0.5 * HOUR
    assert value.close == "2024-02-08T18:00:00+05:00"


@pytest.mark.parametrize("close", ["2024-02-08T17:00:00", "yesterday"])
def test_a_close_without_an_offset_is_refused(model, close):
    with pytest.raises(Rejected) as refused:
        model.delay(ELECTION, close=close)
    assert [(p.code, p.field) for p in refused.value.problems] == [("delay.bad_close", "close")]


def test_postgresql_gives_the_same_delays(tmp_path, pg_url):
    build_night(tmp_path, pg_url)
    model = ReadModel.open(Settings.at(tmp_path, pg_url))
    try:
        value = model.delay(ELECTION).value
    finally:
        model.close()
    na, pp = value.contest("NA-1"), value.contest("PP-1")
    assert na is not None and pp is not None
    assert (na.to_first_form, na.to_all_forms, na.to_declared) == (1.5 * HOUR, 6 * HOUR, 8 * HOUR)
    assert (pp.reported, pp.to_all_forms) == (1, None)
    assert [p.reported for p in value.national.points] == [1, 2, 3, 4]
