"""Klimek, Yegorov, Hanel & Thurner (PNAS 2012): the turnout x winner's-share fingerprint
and the parametric fraud model fitted to it.

Fair units draw turnout and the winner's share from normal distributions fitted to the main
peak: its mode, and the spread of its lower flank, which fraud (pushing turnout and share
up) leaves alone. A unit under incremental fraud (probability f_i) has a fraction x of its
non-voters' ballots stuffed for the winner and a fraction y of the other candidates' votes
moved to the winner, x and y small (|N(0, s)|, s chosen from a grid); a unit under extreme
fraud (f_e) has almost all of them (x, y = 1 - |N(0, 0.075)|). Every unit is independently
fair, incremental or extreme, so the model's expected fingerprint is the mixture
(1 - f_i - f_e) H_fair + f_i H_incremental + f_e H_extreme of histograms computed once per
fit, and fitting (f_i, f_e) is a least-squares problem in two bounded unknowns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

BINS = 50


def fingerprint(turnout: np.ndarray, share: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The 2D histogram of (turnout, share) over [0, 1]^2, normalised to sum 1."""
    keep = np.isfinite(turnout) & np.isfinite(share)
    hist, _, _ = np.histogram2d(
        np.clip(turnout[keep], 0, 1), np.clip(share[keep], 0, 1), bins=bins, range=[[0, 1], [0, 1]]
    )
    total = hist.sum()
    return hist / total if total else hist


@dataclass(frozen=True)
class FraudFit:
    f_incremental: float
    f_extreme: float
    residual: float  # sum of squared differences, fitted model against the data
    residual_fair: float  # the same with f_i = f_e = 0
    turnout_mean: float
    turnout_sd: float
    share_mean: float
    share_sd: float
    incremental_spread: float  # sd of the fraction of votes added by incremental fraud


INCREMENTAL_SPREADS = (0.05, 0.1, 0.15, 0.2, 0.3)
EXTREME_SPREAD = 0.075  # the paper's: extreme fraud leaves almost nothing to the others
_SAMPLE = 120_000  # model units drawn per component: smooth histograms, quick to redraw


def _bulk(values: np.ndarray) -> tuple[float, float]:
    """Mean and spread of the main peak: the mode of the smoothed histogram, and the
    half-normal spread of the values below it."""
    finite = np.clip(values[np.isfinite(values)], 0, 1)
    hist, edges = np.histogram(finite, bins=200, range=(0, 1))
    smooth = np.convolve(hist, np.exp(-0.5 * (np.arange(-6, 7) / 3.0) ** 2), mode="same")
    mode = float((edges[:-1] + edges[1:])[int(np.argmax(smooth))] / 2)
    below = finite[finite <= mode]
    spread = float(np.sqrt(np.mean((below - mode) ** 2))) if below.size > 10 else 0.05
    return mode, max(spread, 0.01)


@dataclass(frozen=True)
class _Draws:
    """Standard-normal draws reused for every candidate parameter set, so the model's
    fingerprint changes smoothly with the parameters (common random numbers)."""

    registered: np.ndarray
    turnout: np.ndarray
    share: np.ndarray
    x: np.ndarray  # |N(0, 1)|: scaled by the incremental spread
    y: np.ndarray
    x_extreme: np.ndarray  # 1 - |N(0, EXTREME_SPREAD)|
    y_extreme: np.ndarray

    @classmethod
    def make(cls, registered: np.ndarray, seed: int) -> _Draws:
        rng = np.random.default_rng(seed)
        size = _SAMPLE
        normal = rng.standard_normal((6, size))
        return cls(
            np.resize(registered, size).astype(float),
            normal[0],
            normal[1],
            np.abs(normal[2]),
            np.abs(normal[3]),
            np.clip(1 - np.abs(normal[4]) * EXTREME_SPREAD, 0, 1),
            np.clip(1 - np.abs(normal[5]) * EXTREME_SPREAD, 0, 1),
        )


def _histogram(turnout: np.ndarray, share: np.ndarray, bins: int) -> np.ndarray:
    """`fingerprint` for values already in [0, 1], by integer binning (several times faster)."""
    i = np.minimum((turnout * bins).astype(np.int64), bins - 1)
    j = np.minimum((share * bins).astype(np.int64), bins - 1)
    return np.bincount(i * bins + j, minlength=bins * bins) / turnout.size


def _components(
    d: _Draws, t_mean: float, t_sd: float, s_mean: float, s_sd: float, bins: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The fair, extreme and (per incremental spread) incremental model fingerprints."""
    turnout = np.clip(t_mean + t_sd * d.turnout, 0, 1)
    share = np.clip(s_mean + s_sd * d.share, 0, 1)
    n = d.registered
    voters = n * turnout
    winner = voters * share

    def rigged(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        stuffed = x * (n - voters)
        new_voters = voters + stuffed
        with np.errstate(divide="ignore", invalid="ignore"):
            new_share = np.where(
                new_voters > 0, (winner + stuffed + y * (voters - winner)) / new_voters, 0.0
            )
        return _histogram(np.clip(new_voters / n, 0, 1), np.clip(new_share, 0, 1), bins)

    fair = _histogram(turnout, share, bins)
    extreme = rigged(d.x_extreme, d.y_extreme)
    incremental = [
        rigged(np.clip(d.x * s, 0, 1), np.clip(d.y * s, 0, 1)) for s in INCREMENTAL_SPREADS
    ]
    return fair, extreme, incremental


def _best(
    observed: np.ndarray, d: _Draws, params: tuple[float, float, float, float], bins: int
) -> tuple[float, float, float, float, float]:
    """(f_i, f_e, residual, incremental spread, fair residual) for one set of fair parameters."""
    fair, extreme, incremental = _components(d, *params, bins)
    fits = [_mixture(observed, fair, inc, extreme) for inc in incremental]
    k = int(np.argmin([f[2] for f in fits]))
    f_i, f_e, residual = fits[k]
    return f_i, f_e, residual, INCREMENTAL_SPREADS[k], float(((observed - fair) ** 2).sum())


def fit_fraud_model(
    registered: np.ndarray, turnout: np.ndarray, share: np.ndarray, seed: int = 0, bins: int = BINS
) -> FraudFit:
    """Fit (f_i, f_e) and the size of incremental fraud to the observed fingerprint, the fair
    distributions fixed by the main peak. f_e is well identified; f_i is a lower bound: small
    incremental fraud (x, y of a few per cent) looks like a slightly shifted fair peak."""
    keep = np.isfinite(turnout) & np.isfinite(share) & (registered > 0)
    observed = fingerprint(turnout[keep], share[keep], bins).ravel()
    t_mean, t_sd = _bulk(turnout[keep])
    s_mean, s_sd = _bulk(share[keep])
    draws = _Draws.make(registered[keep] if keep.any() else np.ones(1), seed)
    f_i, f_e, res, spread, res_fair = _best(observed, draws, (t_mean, t_sd, s_mean, s_sd), bins)
    return FraudFit(f_i, f_e, res, res_fair, t_mean, t_sd, s_mean, s_sd, spread)


def _mixture(
    observed: np.ndarray, fair: np.ndarray, incremental: np.ndarray, extreme: np.ndarray
) -> tuple[float, float, float]:
    """Least squares for observed ~ (1 - f_i - f_e) fair + f_i incremental + f_e extreme."""
    design = np.column_stack([incremental - fair, extreme - fair])
    f_i, f_e = (float(x) for x in lsq_linear(design, observed - fair, bounds=(0, 1)).x)
    if f_i + f_e > 1:
        f_i, f_e = f_i / (f_i + f_e), f_e / (f_i + f_e)
    model = fair + f_i * design[:, 0] + f_e * design[:, 1]
    return f_i, f_e, float(((observed - model) ** 2).sum())
