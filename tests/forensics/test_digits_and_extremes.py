"""Last digits, extreme stations, impossible accounting and the stuffing signature."""

from __future__ import annotations

import numpy as np

from tallyproof.forensics.arrays import StationArrays
from tallyproof.forensics.digits import last_digit_test
from tallyproof.forensics.extremes import (
    accounting_violations,
    extreme_share,
    extreme_turnout,
    joint_outliers,
    regional_z,
    robust_z,
)


def test_honest_counts_have_uniform_last_digits():
    values = np.random.default_rng(1).integers(10, 5000, 20000)
    test = last_digit_test(values)
    assert test.n == 20000
    assert test.counts.sum() == 20000
    assert test.p_value > 1e-3
    assert abs(test.share_0_5 - 0.2) < 0.02


def test_invented_counts_heap_on_0_and_5_and_small_counts_are_left_out():
    rng = np.random.default_rng(2)
    values = rng.integers(10, 5000, 10000)
    values[:1500] = values[:1500] // 5 * 5
    small = rng.integers(0, 10, 5000)  # not uniform even when honest: excluded
    test = last_digit_test(np.concatenate([values, small]))
    assert test.n == 10000
    assert test.share_0_5 > 0.3
    assert test.p_value_0_5 < 1e-10
    assert test.p_value < 1e-10
    assert last_digit_test(small).n == 0


def arrays(registered, issued, polled, rejected, votes, region=None):
    n = len(registered)
    return StationArrays(
        np.array([f"S{i}" for i in range(n)], dtype=object),
        np.array(region or ["R"] * n, dtype=object),
        np.array(registered),
        np.array(issued),
        np.array(polled),
        np.array(rejected),
        np.array(votes),
        ("a", "b"),
    )


def test_extremes_and_accounting_are_flagged_station_by_station():
    a = arrays(
        registered=[100, 100, 100, 100, 100],
        issued=[99, 60, 50, 120, 50],
        polled=[99, 60, 55, 120, 50],
        rejected=[1, 0, 0, 0, 2],
        votes=[[50, 48], [58, 2], [30, 25], [60, 60], [20, 20]],
    )
    assert extreme_turnout(a).tolist() == [True, False, False, True, False]
    mask, who = extreme_share(a)
    assert mask.tolist() == [False, True, False, False, False]
    assert who[1] == 0
    checks = accounting_violations(a)
    assert checks["ballots.exceeds_registered"].tolist() == [False, False, False, True, False]
    assert checks["ballots.more_in_boxes_than_issued"].tolist() == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert checks["ballots.accounting_mismatch"].tolist() == [False, False, False, False, True]


def test_robust_z_is_not_dragged_by_the_outliers_it_finds():
    values = np.r_[np.random.default_rng(3).normal(0.6, 0.05, 1000), [0.99] * 30]
    z = robust_z(values)
    assert (z[-30:] > 6).all()
    assert (np.abs(z[:1000]) < 4.5).all()


def test_regional_z_measures_each_station_against_its_own_region():
    rng = np.random.default_rng(4)
    north, south = rng.normal(0.5, 0.03, 200), rng.normal(0.8, 0.03, 200)
    values = np.r_[north, south, [0.8]]  # ordinary in the south, far out in the north
    region = np.array(["N"] * 200 + ["S"] * 200 + ["N"], dtype=object)
    z = regional_z(values, region)
    assert z[-1] > 6
    assert np.abs(z[200:400]).max() < 4.5
    tiny = regional_z(values, np.array(["N"] * 400 + ["X"], dtype=object))
    assert tiny[-1] == robust_z(values)[-1]  # one station is no region: the whole contest


def test_joint_outliers_need_both_turnout_and_share_up():
    rng = np.random.default_rng(5)
    n = 500
    registered = np.full(n, 1000)
    issued = rng.binomial(registered, 0.55)
    leader = rng.binomial(issued, 0.5)
    issued[:3] = 950  # stuffed for the leader
    leader[:3] += 400
    issued[3] = 950  # high turnout, leader's share unchanged
    leader[3] = 470
    votes = np.column_stack([leader, issued - leader])
    a = arrays(registered, issued, issued, np.zeros(n, dtype=int), votes)
    found = joint_outliers(a)
    assert found[:3].all()
    assert not found[3]
    assert found.sum() == 3
