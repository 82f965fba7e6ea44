"""The forensic tests on the real elections in ../shared/data, read with the shipped mappings.
Observed counts are exact; expectations are the binomial null's exact mean."""

from __future__ import annotations

import numpy as np
import pytest

from tallyproof.forensics.report import analyse
from tallyproof.importers.stations import Mapping, ReadReport, read_rows, station_arrays
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata

# mapping: stations kept by the filter, observed (turnout, share, either), exact null means
# (turnout, share, either), the region with the largest excess
EXPECTED = {
    "russia-2011": (
        87916,
        (11441, 10022, 19983),
        (11174.7, 9277.5, 19137.5),
        "Республика Татарстан",
    ),
    "russia-2012": (
        88335,
        (11280, 9926, 19804),
        (10782.4, 9249.9, 18815.8),
        "Республика Татарстан",
    ),
    "russia-2018": (
        90911,
        (11730, 10169, 20332),
        (10551.7, 9308.4, 18743.9),
        "Республика Дагестан",
    ),
    "russia-2024": (87130, (12052, 10351, 20674), (9983.8, 8981.8, 17851.5), "Краснодарский край"),
}


def arrays(name: str, directory: str):
    mapping = Mapping.load(name)
    report = ReadReport()
    candidates, rows = read_rows(mapping, shared_data(directory), report)
    for key, value in mapping.totals.items():
        assert report.totals[key] == value, key
    return station_arrays(mapping, candidates, rows)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_russian_elections_show_the_integer_percentage_excess(name):
    stations, observed, null_mean, top_region = EXPECTED[name]
    a = arrays(name, "russia-kobak")
    assert "Путин" in a.names[a.leader] or "ЕДИНАЯ РОССИЯ" in a.names[a.leader]
    an = analyse(a, replicates=200, seed=1)
    tests = [an.integer[q] for q in ("turnout", "share", "either")]
    assert all(t.stations == stations for t in tests)
    assert tuple(t.observed for t in tests) == observed
    for t, mean in zip(tests, null_mean, strict=True):
        assert t.probability.sum() == pytest.approx(mean, abs=0.1)
        assert abs(t.expected - t.probability.sum()) < 4 * t.spread / np.sqrt(200)
        assert 80 < t.spread < 130
    either = an.integer["either"]
    assert either.z > 7 and either.p_value == 0.0
    assert an.regions[0].region.startswith(top_region) and an.regions[0].z > 8
    # the fingerprint model sees extreme fraud at 0.8-5 % of stations in every one of them
    assert 0.007 < an.fit.f_extreme < 0.06


def test_uganda_2011_shows_no_integer_excess():
    an = analyse(arrays("uganda-2011", "uganda-2011-pres-ps"), replicates=200, seed=1)
    either = an.integer["either"]
    assert (either.stations, either.observed) == (23372, 4559)
    assert abs(either.z) < 2
    assert int(an.extreme_turnout.sum()) == 216
    assert int(an.extreme_share.sum()) == 599
    assert an.digits["all candidates"].p_value < 1e-20  # many small counts of minor candidates
