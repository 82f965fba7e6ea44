"""Klimek, Yegorov, Hanel & Thurner (PNAS 2012): the turnout x winner's-share fingerprint
and the parametric fraud model fitted to it, with a fair part of one or several modes.

Fair units belong to one of K fair modes (regional blocs); mode k holds a fraction w_k of the
stations and draws turnout and the winner's share from independent normals with its own centre
and spreads. The centre is the mode of the smoothed histogram of the mode's stations and each
spread is the half-normal spread of its lower flank, which fraud (pushing turnout and share
up) leaves alone. A unit under incremental fraud has a fraction x of its non-voters' ballots
stuffed for the winner and a fraction y of the other candidates' votes moved to the winner,
x and y small (|N(0, s)|, s chosen from a grid); a unit under extreme fraud has almost all of
them (x, y = 1 - |N(0, 0.075)|). Every unit, whatever its mode, is independently fair,
incremental (probability f_i) or extreme (f_e), so the model's fingerprint is

    sum_k w_k [(1 - f_i - f_e) H_fair,k + f_i H_incremental,k + f_e H_extreme,k],

the histograms computed once per fit from common random numbers, and fitting (f_i, f_e) to
the observed 50 x 50 fingerprint is bounded least squares in two unknowns, as in the paper
(K = 1 is the paper's model exactly). The weights w_k are the modes' shares of the stations,
not fitted: a free weight per mode would let incremental fraud from one bloc stand in for
the fair units of another.

Choosing the modes. The first mode is the paper's main peak (the marginal modes), found among
the stations outside the corner below, where stuffed stations can outnumber a fair peak.
Further candidates are the peaks of the smoothed 2D fingerprint (outside the corner below) at
least MIN_PEAK as high as the highest of them, tried highest first. Each station (or, given
`region`, each whole region, by its median station) joins the nearest centre, and every mode
is re-estimated from its own stations, which must be at least 2 % of all. A candidate is kept
only if

* its centre, and the re-estimated centre of every mode, lies outside the extreme corner
  [CORNER, 1]^2, CORNER = 1 - 2 x 0.075: the box where the extreme component puts about 90 %
  of its units. A peak there is what extreme fraud predicts, so letting it be fair would define
  the fraud away (whole Russian regions sit at 95-100 % turnout and share); and
* it cuts the fit's residual by the factor ACCEPT or better: an extra fair mode is two
  centres and two spreads, and a bump that the fraud components of the modes already
  accepted can explain (Russia's comet tail of incremental fraud) does not earn them.

Regional blocs (Uganda 2011: the north against the rest) otherwise widen the one fair peak's
lower flank until it covers the corner and the fit calls extreme fraud fair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
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
class Mode:
    """One fair mode: its share of the stations (fair and rigged units drawn from it) and
    its normals."""

    weight: float
    turnout_mean: float
    turnout_sd: float
    share_mean: float
    share_sd: float


@dataclass(frozen=True)
class FraudFit:
    f_incremental: float
    f_extreme: float
    residual: float  # sum of squared differences, fitted model against the data
    residual_fair: float  # the same with f_i = f_e = 0
    turnout_mean: float  # the main (heaviest) mode's
    turnout_sd: float
    share_mean: float
    share_sd: float
    incremental_spread: float  # sd of the fraction of votes added by incremental fraud
    modes: tuple[Mode, ...] = ()
    method: str = "single peak"


INCREMENTAL_SPREADS = (0.05, 0.1, 0.15, 0.2, 0.3)
EXTREME_SPREAD = 0.075  # the paper's: extreme fraud leaves almost nothing to the others
CORNER = 1 - 2 * EXTREME_SPREAD  # no fair mode inside [CORNER, 1]^2: extreme fraud lands there
MAX_MODES = 3
MIN_PEAK = 0.2  # a candidate mode's smoothed density against the highest peak's
ACCEPT = 0.5  # an extra mode must at least halve the residual
_SAMPLE = 120_000  # model units drawn per component: smooth histograms, quick to redraw
_PEAK_BINS = 100  # the grid on which candidate modes are found
_PEAK_SMOOTH = 3.0  # Gaussian smoothing of that grid, in bins (0.03)
_PEAK_WINDOW = 11  # a peak is the maximum of its 11 x 11 neighbourhood (± 0.05)
_MIN_GROUP = 0.02  # a mode needs this fraction of the stations to estimate its spreads


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


@dataclass(frozen=True)
class _Components:
    """One mode's fair, extreme and (per incremental spread) incremental model fingerprints."""

    fair: np.ndarray
    extreme: np.ndarray
    incremental: list[np.ndarray]


def _components(d: _Draws, mode: Mode, bins: int) -> _Components:
    turnout = np.clip(mode.turnout_mean + mode.turnout_sd * d.turnout, 0, 1)
    share = np.clip(mode.share_mean + mode.share_sd * d.share, 0, 1)
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

    return _Components(
        _histogram(turnout, share, bins),
        rigged(d.x_extreme, d.y_extreme),
        [rigged(np.clip(d.x * s, 0, 1), np.clip(d.y * s, 0, 1)) for s in INCREMENTAL_SPREADS],
    )


@dataclass(frozen=True)
class _Solution:
    f_incremental: float
    f_extreme: float
    residual: float
    residual_fair: float
    spread: float
    weights: tuple[float, ...]  # each mode's share of the stations


def _mixture(observed: np.ndarray, columns: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Least squares for observed ~ (1 - sum w) columns[0] + sum_j w_j columns[j], w in [0, 1]
    (rescaled to sum at most 1): the coefficient of every column and the residual."""
    base = columns[0]
    if len(columns) == 1:
        return np.ones(1), float(((observed - base) ** 2).sum())
    design = np.column_stack([c - base for c in columns[1:]])
    w = lsq_linear(design, observed - base, bounds=(0, 1)).x
    w = w / w.sum() if w.sum() > 1 else w
    residual = float(((observed - base - design @ w) ** 2).sum())
    fair = float(((observed - base) ** 2).sum())
    if residual >= fair:  # the solver's tolerance: no fraud is then the better answer
        return np.r_[1.0, np.zeros_like(w)], fair
    return np.r_[1 - w.sum(), w], residual


def _solve(observed: np.ndarray, parts: list[_Components], weights: list[float]) -> _Solution:
    """The best (f_i, f_e) over the incremental spreads, every mode rigged at the same rates
    and weighted by its share of the stations."""
    w = np.asarray(weights) / sum(weights)

    def mix(arrays: list[np.ndarray]) -> np.ndarray:
        return sum((wk * a for wk, a in zip(w, arrays, strict=True)), np.zeros_like(arrays[0]))

    fair = mix([p.fair for p in parts])
    extreme = mix([p.extreme for p in parts])
    fits = [
        _mixture(observed, [fair, mix([p.incremental[i] for p in parts]), extreme])
        for i in range(len(INCREMENTAL_SPREADS))
    ]
    best = int(np.argmin([f[1] for f in fits]))
    coef, residual = fits[best]
    return _Solution(
        float(coef[1]),
        float(coef[2]),
        residual,
        float(((observed - fair) ** 2).sum()),
        INCREMENTAL_SPREADS[best],
        tuple(float(x) for x in w),
    )


def _in_corner(turnout: float, share: float) -> bool:
    return turnout >= CORNER and share >= CORNER


def _peaks(turnout: np.ndarray, share: np.ndarray) -> list[tuple[float, float]]:
    """Candidate centres: local maxima of the smoothed fingerprint outside the extreme corner,
    at least MIN_PEAK as high as the highest of them, highest first (the corner's height says
    how much was stuffed, not how tall a fair bloc must be)."""
    density = ndimage.gaussian_filter(fingerprint(turnout, share, _PEAK_BINS), _PEAK_SMOOTH)
    top = density == ndimage.maximum_filter(density, size=_PEAK_WINDOW)
    centres = (np.argwhere(top) + 0.5) / _PEAK_BINS
    heights = density[top]
    outside = np.array([not _in_corner(t, s) for t, s in centres], dtype=bool)
    centres, heights = centres[outside], heights[outside]
    tallest = heights.max(initial=0.0)
    if tallest <= 0:  # no stations
        return []
    order = np.argsort(-heights, kind="stable")
    return [
        (float(centres[i, 0]), float(centres[i, 1]))
        for i in order
        if heights[i] >= MIN_PEAK * tallest
    ]


def _assign(
    turnout: np.ndarray,
    share: np.ndarray,
    region: np.ndarray | None,
    centres: list[tuple[float, float]],
) -> np.ndarray:
    """Each station's nearest centre; given regions, the nearest to its region's median station
    (a region is one bloc: its own high-turnout stations stay with it)."""
    c = np.asarray(centres)
    if region is None:
        points = np.column_stack([turnout, share])
    else:
        names, group = np.unique(region.astype(str), return_inverse=True)
        medians = np.array(
            [
                [np.median(turnout[group == g]), np.median(share[group == g])]
                for g in range(names.size)
            ]
        )
        points = medians[group]
    distance = ((points[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(distance, axis=1)


def _modes(
    turnout: np.ndarray, share: np.ndarray, groups: np.ndarray, count: int
) -> list[Mode] | None:
    """Each group's fair normals, or None where a group is too small or centred in the corner."""
    out = []
    for k in range(count):
        here = groups == k
        if count > 1 and here.mean() < _MIN_GROUP:
            return None
        t_mean, t_sd = _bulk(turnout[here])
        s_mean, s_sd = _bulk(share[here])
        if count > 1 and _in_corner(t_mean, s_mean):
            return None
        out.append(Mode(float(here.mean()) if here.any() else 0.0, t_mean, t_sd, s_mean, s_sd))
    return out


def _main_mode(turnout: np.ndarray, share: np.ndarray) -> list[Mode]:
    """The paper's main peak, found among the stations outside the extreme corner: stuffed
    stations pile up there densely enough to outnumber a fair peak in one margin or both
    (Russia 2024's turnout peaks at 97 %), and no fair mode may sit in the corner."""
    outside = ~((turnout >= CORNER) & (share >= CORNER))
    if outside.sum() < 10:  # nearly every station in the corner: nothing else to go by
        outside = np.ones(turnout.size, dtype=bool)
    return _modes(turnout[outside], share[outside], np.zeros(int(outside.sum()), np.int64), 1)


def fit_fraud_model(
    registered: np.ndarray,
    turnout: np.ndarray,
    share: np.ndarray,
    seed: int = 0,
    bins: int = BINS,
    region: np.ndarray | None = None,
    modes: int = MAX_MODES,
) -> FraudFit:
    """Fit (f_i, f_e), the size of incremental fraud and up to `modes` fair modes to the
    observed fingerprint (`modes=1`: the paper's single peak). f_e is well identified; f_i is a
    lower bound: small incremental fraud (x, y of a few per cent) looks like a slightly shifted
    fair peak."""
    keep = np.isfinite(turnout) & np.isfinite(share) & (registered > 0)
    t, s = np.clip(turnout[keep], 0, 1), np.clip(share[keep], 0, 1)
    observed = fingerprint(t, s, bins).ravel()
    draws = _Draws.make(registered[keep] if keep.any() else np.ones(1), seed)
    current = _main_mode(t, s) or []
    centres = [(current[0].turnout_mean, current[0].share_mean)]
    parts = [_components(draws, current[0], bins)]
    solution = _solve(observed, parts, [1.0])
    regions = None if region is None else np.asarray(region)[keep]
    for peak in _peaks(t, s) if modes > 1 else []:
        if len(centres) >= modes:
            break
        if min(np.hypot(peak[0] - a, peak[1] - b) for a, b in centres) < 0.1:
            continue
        tried = _modes(t, s, _assign(t, s, regions, [*centres, peak]), len(centres) + 1)
        if tried is None:
            continue
        tried_parts = [_components(draws, m, bins) for m in tried]
        tried_solution = _solve(observed, tried_parts, [m.weight for m in tried])
        if tried_solution.residual <= ACCEPT * solution.residual:
            current, centres, solution = tried, [*centres, peak], tried_solution
    return _result(solution, current, region is not None)


def _result(solution: _Solution, modes: list[Mode], by_region: bool) -> FraudFit:
    fitted = tuple(
        Mode(w, m.turnout_mean, m.turnout_sd, m.share_mean, m.share_sd)
        for w, m in zip(solution.weights, modes, strict=True)
    )
    main = max(fitted, key=lambda m: m.weight)
    if len(fitted) == 1:
        method = "single peak"
    else:
        method = f"{len(fitted)} modes" + (", regions assigned whole" if by_region else "")
    return FraudFit(
        solution.f_incremental,
        solution.f_extreme,
        solution.residual,
        solution.residual_fair,
        main.turnout_mean,
        main.turnout_sd,
        main.share_mean,
        main.share_sd,
        solution.spread,
        fitted,
        method,
    )
