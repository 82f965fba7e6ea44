"""The fraud model with several fair modes: on a two-bloc election it recovers the extreme
fraud that the paper's single peak calls fair, invents none, and never lets a fair mode sit in
the extreme corner."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.forensics.fingerprint import CORNER, _modes, _peaks, fit_fraud_model
from tallyproof.forensics.simulate import bimodal_election
from tests.conftest import shared_data

RECOVERY = 0.002  # |fitted f_e - true f_e| on 30,000 simulated stations


def fits(e, **kw):
    return fit_fraud_model(e.registered, e.turnout, e.share, seed=1, **kw)


@pytest.mark.parametrize("seed", [1, 2])
def test_two_blocs_with_extreme_fraud_the_modes_recover_it_and_one_peak_does_not(seed):
    e = bimodal_election(30000, np.random.default_rng(seed), f_extreme=0.01)
    truth = float((e.kind == 2).mean())
    multi, single = fits(e), fits(e, modes=1)
    assert len(multi.modes) == 2 and multi.method == "2 modes"
    assert multi.f_extreme == pytest.approx(truth, abs=RECOVERY)
    assert single.f_extreme < truth / 2  # the wide single peak swallows the corner
    assert multi.residual < single.residual / 2
    low, high = sorted(multi.modes, key=lambda m: m.share_mean)
    assert low.share_mean == pytest.approx(0.35, abs=0.05)
    assert high.share_mean == pytest.approx(0.80, abs=0.05)
    assert high.weight == pytest.approx(float(e.bloc.mean()), abs=0.05)


@pytest.mark.parametrize("seed", [1, 2])
def test_two_fair_blocs_give_no_extreme_fraud(seed):
    e = bimodal_election(30000, np.random.default_rng(seed))
    fit = fits(e)
    assert len(fit.modes) == 2
    assert fit.f_extreme < 0.001


def test_regions_assigned_whole_recover_the_same_fraud():
    e = bimodal_election(30000, np.random.default_rng(3), f_extreme=0.02)
    fit = fits(e, region=e.region)
    assert fit.method == "2 modes, regions assigned whole"
    assert fit.f_extreme == pytest.approx(float((e.kind == 2).mean()), abs=RECOVERY)


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    f_e=st.floats(0.0, 0.04),
    f_i=st.sampled_from([0.0, 0.2]),
)
def test_extreme_fraud_is_recovered_whatever_the_draw(seed, f_e, f_i):
    e = bimodal_election(30000, np.random.default_rng(seed), f_i, f_e, spread=0.3)
    fit = fits(e)
    assert fit.f_extreme == pytest.approx(float((e.kind == 2).mean()), abs=2 * RECOVERY)
    assert fit.residual <= fit.residual_fair


def test_no_fair_mode_in_the_extreme_corner():
    """A bloc stuffed to 95-100 % is a peak of the fingerprint; it must stay fraud."""
    e = bimodal_election(30000, np.random.default_rng(4), f_extreme=0.08)
    t, s = np.clip(e.turnout, 0, 1), np.clip(e.share, 0, 1)
    assert all(not (pt >= CORNER and ps >= CORNER) for pt, ps in _peaks(t, s))
    fit = fits(e)
    assert all(not (m.turnout_mean >= CORNER and m.share_mean >= CORNER) for m in fit.modes)
    assert fit.f_extreme == pytest.approx(float((e.kind == 2).mean()), abs=2 * RECOVERY)


def test_the_multimodal_fit_is_seeded():
    e = bimodal_election(20000, np.random.default_rng(6), 0.1, 0.02)
    assert fits(e, region=e.region) == fits(e, region=e.region)


def arrays(name: str, directory: str):
    from tallyproof.importers.stations import Mapping, ReadReport, read_rows, station_arrays

    mapping = Mapping.load(name)
    candidates, rows = read_rows(mapping, shared_data(directory), ReadReport())
    return station_arrays(mapping, candidates, rows)


@pytest.mark.realdata
def test_uganda_2011_extreme_fraud_is_of_the_order_of_its_stuffed_corner():
    a = arrays("uganda-2011", "uganda-2011-pres-ps")
    t, s = a.turnout, a.share()
    corner = float(np.mean((t >= 0.95) & (s >= 0.95)))  # 214 of 23,827
    fit = fit_fraud_model(a.registered, t, s)
    assert len(fit.modes) == 2
    assert 0.005 < fit.f_extreme < 0.02
    assert fit.f_extreme == pytest.approx(corner, rel=0.5)
    assert fit_fraud_model(a.registered, t, s, modes=1).f_extreme < 0.001


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["russia-2011", "russia-2012", "russia-2018", "russia-2024"])
def test_russian_elections_keep_their_extreme_fraud(name):
    a = arrays(name, "russia-kobak")
    for region in (None, a.region):
        fit = fit_fraud_model(a.registered, a.turnout, a.share(), region=region)
        assert 0.007 < fit.f_extreme < 0.06


@pytest.mark.parametrize("f_extreme", [0.15, 0.2])
def test_heavy_stuffing_cannot_pull_the_main_fair_peak_into_the_corner(f_extreme):
    """With a fifth of the stations stuffed, the stations' own peaks (of share, or of both)
    lie in the corner; the fair peak is found among the others, and most of the stuffing is
    recovered instead of being called fair."""
    e = bimodal_election(30000, np.random.default_rng(5), f_extreme=f_extreme)
    t, s = np.clip(e.turnout, 0, 1), np.clip(e.share, 0, 1)
    naive = _modes(t, s, np.zeros(t.size, dtype=np.int64), 1)[0]
    assert naive.share_mean >= CORNER  # what the paper's main peak would be
    fit = fits(e)
    assert all(m.share_mean < CORNER and m.turnout_mean < CORNER for m in fit.modes)
    assert fit.f_extreme > 0.75 * float((e.kind == 2).mean())
