"""The Klimek et al. (2012) fingerprint and fraud model: fitted values recover the fraud
that was put in."""

from __future__ import annotations

import numpy as np
import pytest

from tallyproof.forensics.fingerprint import fingerprint, fit_fraud_model


def election(rng, stations, f_incremental, f_extreme, spread=0.1):
    """Fair units from normals, then the paper's incremental and extreme fraud at known rates."""
    registered = rng.integers(500, 2500, stations).astype(float)
    turnout = np.clip(rng.normal(0.55, 0.08, stations), 0, 1)
    share = np.clip(rng.normal(0.45, 0.08, stations), 0, 1)
    kind = rng.choice(3, stations, p=[1 - f_incremental - f_extreme, f_incremental, f_extreme])
    x = np.where(kind == 1, np.abs(rng.normal(0, spread, stations)), 0.0)
    y = np.where(kind == 1, np.abs(rng.normal(0, spread, stations)), 0.0)
    x = np.where(kind == 2, 1 - np.abs(rng.normal(0, 0.075, stations)), x).clip(0, 1)
    y = np.where(kind == 2, 1 - np.abs(rng.normal(0, 0.075, stations)), y).clip(0, 1)
    voters, winner = registered * turnout, registered * turnout * share
    stuffed, moved = x * (registered - voters), y * (voters - winner)
    new_voters = voters + stuffed
    return registered, new_voters / registered, (winner + stuffed + moved) / new_voters


def test_the_fingerprint_is_a_normalised_histogram_that_ignores_missing_values():
    t = np.array([0.1, 0.1, 0.9, np.nan, 1.2])
    s = np.array([0.2, 0.2, 0.8, 0.5, 0.5])
    hist = fingerprint(t, s, bins=10)
    assert hist.shape == (10, 10)
    assert hist.sum() == pytest.approx(1.0)
    assert hist[1, 2] == pytest.approx(0.5)
    assert hist[9, 5] == pytest.approx(0.25)  # turnout above 1 is drawn at the edge


@pytest.mark.parametrize(("f_i", "f_e"), [(0.0, 0.0), (0.0, 0.03), (0.15, 0.0), (0.3, 0.03)])
def test_the_fit_recovers_known_fraud(f_i, f_e):
    registered, turnout, share = election(np.random.default_rng(5), 60000, f_i, f_e, spread=0.3)
    fit = fit_fraud_model(registered, turnout, share, seed=1)
    assert fit.f_extreme == pytest.approx(f_e, abs=0.003)
    assert fit.f_incremental == pytest.approx(f_i, abs=0.06)
    assert fit.turnout_sd == pytest.approx(0.08, abs=0.01)
    assert fit.share_sd == pytest.approx(0.08, abs=0.01)
    assert fit.residual <= fit.residual_fair


def test_small_incremental_fraud_is_underestimated_not_invented():
    """x, y of a few per cent shift units less than the fair spread: the fit reports a
    lower bound (documented), and never more than was put in."""
    fits = [
        fit_fraud_model(*election(np.random.default_rng(5), 60000, f_i, 0.0, spread=0.1), seed=1)
        for f_i in (0.0, 0.3)
    ]
    assert fits[0].f_incremental < 0.06
    assert fits[1].f_incremental < 0.3
    assert fits[0].f_extreme < 0.002 and fits[1].f_extreme < 0.002


def test_the_fit_is_seeded():
    registered, turnout, share = election(np.random.default_rng(6), 20000, 0.2, 0.02)
    assert fit_fraud_model(registered, turnout, share, seed=3) == fit_fraud_model(
        registered, turnout, share, seed=3
    )
