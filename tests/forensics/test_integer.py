"""The integer-percentage test (Kobak, Shpilkin & Pshenichnikov 2016) on arrays."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from tallyproof.forensics.integer import (
    LEGACY,
    PUBLISHED,
    StationFilter,
    hit_probability,
    integer_percentage_tests,
    monte_carlo_counts,
    on_integer,
)


def test_on_integer_uses_a_window_either_side_of_whole_percentages():
    numerator = np.array([50, 505, 1001, 1002, 333, 0, 700])
    denominator = np.array([100, 1000, 2000, 2000, 1000, 500, 700])
    # 50 %, 50.5 %, 50.05 % (edge of the window), 50.1 %, 33.3 %, 0 %, 100 %
    assert on_integer(numerator, denominator).tolist() == [
        True,
        False,
        True,
        False,
        False,
        True,
        True,
    ]


@given(data=st.data(), n=st.integers(100, 4000), window=st.sampled_from([0.05, 0.1]))
def test_hit_probability_equals_the_sum_over_every_count(data, n, window):
    """The windowed sum equals the brute-force sum of the pmf over all n + 1 counts, for
    every fraction a station can report (a count over its denominator)."""
    p = data.draw(st.integers(0, n)) / n
    k = np.arange(n + 1)
    brute = binom.pmf(k, n, p)[on_integer(k, np.full(n + 1, n), window)].sum()
    fast = hit_probability(np.array([n]), np.array([p]), window)[0]
    assert abs(fast - brute) < 1e-8


def test_hit_probability_matches_simulated_binomial_draws():
    rng = np.random.default_rng(3)
    n = rng.integers(100, 3000, 400)
    p = rng.uniform(0.05, 0.95, 400)
    draws = rng.binomial(n, p, size=(4000, 400))
    simulated = on_integer(draws, n).mean(axis=0)
    q = hit_probability(n, p)
    # 4,000 draws per station: the standard error of each mean is at most 0.008
    assert np.abs(simulated - q).max() < 0.04
    assert abs(simulated.sum() - q.sum()) < 3 * np.sqrt((q * (1 - q)).sum() / 4000) * 20


def test_monte_carlo_is_seeded_and_centred_on_the_exact_mean():
    q = np.random.default_rng(0).uniform(0.0, 0.3, 5000)
    one = monte_carlo_counts(q, 400, seed=7, workers=1)
    again = monte_carlo_counts(q, 400, seed=7, workers=1)
    two = monte_carlo_counts(q, 400, seed=7, workers=2)
    assert np.array_equal(one, again)
    assert np.array_equal(two, monte_carlo_counts(q, 400, seed=7, workers=2))
    for counts in (one, two):
        assert abs(counts.mean() - q.sum()) < 4 * np.sqrt((q * (1 - q)).sum() / 400)
        assert abs(counts.std() - np.sqrt((q * (1 - q)).sum())) / np.sqrt(q.sum()) < 0.15


def honest(rng, stations=30000):
    registered = rng.integers(400, 3000, stations)
    issued = rng.binomial(registered, rng.uniform(0.4, 0.9, stations))
    leader = rng.binomial(issued, rng.uniform(0.3, 0.8, stations))
    return registered, issued, leader


def test_an_honest_election_shows_no_excess():
    registered, issued, leader = honest(np.random.default_rng(11))
    keep, tests = integer_percentage_tests(registered, issued, issued, leader, replicates=300)
    assert keep.all()
    for test in tests.values():
        assert abs(test.z) < 4, test
        assert 0.0 < test.p_value < 1.0 or test.observed == 0


def test_rounded_turnouts_are_found_and_counted():
    rng = np.random.default_rng(12)
    registered, issued, leader = honest(rng)
    cooked = rng.choice(np.flatnonzero(registered >= 1000), 600, replace=False)
    issued[cooked] = np.rint(rng.integers(70, 96, cooked.size) / 100 * registered[cooked])
    leader = np.minimum(leader, (issued * 0.9).astype(np.int64))
    keep, tests = integer_percentage_tests(registered, issued, issued, leader, replicates=300)
    assert keep.all()
    turnout = tests["turnout"]
    assert turnout.hits[cooked].all()
    assert turnout.z > 8
    # the excess is the cooked stations that would not have landed on an integer anyway
    assert abs(turnout.excess - 600 * (1 - turnout.probability[cooked].mean())) < 5 * turnout.spread
    assert tests["either"].observed >= turnout.observed


def test_the_published_filter_keeps_stations_of_100_voters_below_99_percent():
    registered = np.array([99, 100, 500, 500, 500, 1000, 1000, 300, 300])
    issued = np.array([50, 50, 496, 495, 250, 990, 500, 0, 200])
    polled = np.array([50, 50, 496, 495, 250, 990, 500, 0, 200])
    leader = np.array([10, 10, 200, 200, 248, 500, 495, 0, 198])
    keep, tests = integer_percentage_tests(registered, issued, polled, leader, replicates=20)
    # 99 voters; kept; turnout 99.2 %; turnout 99.0 %; share 99.2 %; turnout 99.0 %;
    # share 99.0 %; no ballots in the boxes; share exactly 99 %
    assert keep.tolist() == [False, True, False, True, False, True, True, False, True]
    assert tests["turnout"].stations == 5
    assert tests["either"].station_filter == PUBLISHED


def test_the_filter_is_a_parameter_and_the_old_one_remains_reachable():
    registered = np.array([99, 100, 500, 500])
    issued = np.array([50, 50, 600, 250])
    polled = np.array([50, 100, 600, 99])
    keep, tests = integer_percentage_tests(
        registered, issued, polled, polled // 2, replicates=20, station_filter=LEGACY
    )
    assert keep.tolist() == [False, True, False, False]
    assert tests["turnout"].stations == 1
    assert "no more ballots issued" in LEGACY.describe()
    assert PUBLISHED.describe().startswith("Stations with at least 100 registered voters")


@given(
    st.lists(
        st.tuples(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 3000)),
        min_size=1,
        max_size=60,
    ),
    st.integers(90, 100),
)
def test_the_filter_agrees_with_whole_number_arithmetic(rows, cap):
    """Float division must not move a station across a cap: turnout <= cap % exactly when
    100 * issued <= cap * registered (and the same for the share)."""
    registered = np.array([r for r, _, _ in rows])
    issued = np.array([min(i, 2 * r) for r, i, _ in rows])
    leader = np.array([min(v, i) for (_, _, v), i in zip(rows, issued, strict=True)])
    polled = issued.copy()
    rule = StationFilter(max_turnout=cap / 100, max_share=cap / 100)
    expected = (
        (registered >= 100)
        & (polled >= 1)
        & (100 * issued <= cap * registered)
        & (100 * leader <= cap * polled)
    )
    assert rule.keep(registered, issued, polled, leader).tolist() == expected.tolist()
