"""Kobak, Shpilkin & Pshenichnikov (Ann. Appl. Stat. 2016): integer percentages.

A station reports an integer percentage when its turnout (ballots issued / registered) or
its leader's share (leader's votes / ballots in the boxes) lies within `window` percentage
points of a whole number (0.05: the 0.1 %-wide histogram bin centred on the integer). Under
the binomial null each percentage's numerator is Binomial(denominator, observed fraction),
independently per station. That makes each station's "on an integer" indicator a Bernoulli
whose probability is computed exactly from the binomial pmf, so a Monte Carlo replicate of
the count needs one uniform draw per station instead of a binomial draw and a division."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

_INLINE_DRAWS = 20_000_000  # below this many draws, one process is quicker than several
WINDOW = 0.05  # percentage points either side of an integer
_TAIL = 1e-13  # probability left out in each tail of the binomial (below any count we report)


def on_integer(
    numerator: np.ndarray, denominator: np.ndarray, window: float = WINDOW
) -> np.ndarray:
    """Whether 100 * numerator / denominator lies within `window` of a whole number."""
    pct = 100.0 * numerator / np.maximum(denominator, 1)
    return np.abs(pct - np.rint(pct)) <= window + 1e-9


def hit_probability(
    denominator: np.ndarray, fraction: np.ndarray, window: float = WINDOW
) -> np.ndarray:
    """P(100 * Binomial(n, p) / n lies within `window` of an integer), per station, exactly:
    the pmf summed over every count k that lands in a window, between the binomial's
    1e-13 and 1 - 1e-13 quantiles."""
    n = denominator.astype(np.int64)
    p = np.clip(fraction, 0.0, 1.0)
    n_safe = np.maximum(n, 1)
    lo = np.floor(100.0 * binom.ppf(_TAIL, n_safe, p) / n_safe) - 1
    hi = np.ceil(100.0 * binom.isf(_TAIL, n_safe, p) / n_safe) + 1
    lo = np.clip(np.nan_to_num(lo, nan=0.0), 0, 100).astype(np.int64)
    hi = np.clip(np.nan_to_num(hi, nan=100.0), 0, 100).astype(np.int64)
    widths = hi - lo + 1
    station = np.repeat(np.arange(n.size), widths)
    m = np.repeat(lo, widths) + (
        np.arange(widths.sum()) - np.repeat(np.cumsum(widths) - widths, widths)
    )
    k_lo = np.ceil(n[station] * (m - window) / 100.0 - 1e-9).clip(0).astype(np.int64)
    k_hi = np.minimum(np.floor(n[station] * (m + window) / 100.0 + 1e-9), n[station]).astype(
        np.int64
    )
    spans = np.maximum(k_hi - k_lo + 1, 0)
    row = np.repeat(np.arange(spans.size), spans)
    k = np.repeat(k_lo, spans) + (
        np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    )
    pmf = binom.pmf(k, n[station[row]], p[station[row]])
    return np.minimum(np.bincount(station[row], weights=pmf, minlength=n.size), 1.0)


@dataclass(frozen=True)
class StationFilter:
    """Which stations the test counts. The published filter (`PUBLISHED`) keeps a station
    with ballots in the boxes, at least 100 registered voters, and turnout and leader's share
    both at most 99 %: small stations land on integers too easily to say anything, and near
    100 % a binomial redraw lands on exactly 100 % so often that the null's expectation
    swells and hides the excess (an integer-percentage test has nothing to say there; the
    100 % stations are reported by the extremes instead)."""

    min_registered: int = 100
    min_polled: int = 1
    max_turnout: float = 0.99
    max_share: float = 0.99
    issued_within_registered: bool = False  # drop stations issuing more than registered

    def keep(
        self,
        registered: np.ndarray,
        issued: np.ndarray,
        polled: np.ndarray,
        leader_votes: np.ndarray,
    ) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            turnout = issued / registered
            share = leader_votes / polled
        keep = (registered >= self.min_registered) & (polled >= self.min_polled)
        keep &= (turnout <= self.max_turnout + 1e-12) & (share <= self.max_share + 1e-12)
        if self.issued_within_registered:
            keep &= issued <= registered
        return keep

    def describe(self) -> str:
        """One sentence for a reader: which stations were counted."""
        ballots = (
            "ballots in the boxes"
            if self.min_polled <= 1
            else f"at least {self.min_polled:,} ballots in the boxes"
        )
        rule = (
            f"stations with at least {self.min_registered:,} registered voters, {ballots}, "
            f"turnout at most {self.max_turnout:.0%} and the leader's share at most "
            f"{self.max_share:.0%}"
        )
        if self.issued_within_registered:
            rule += ", and no more ballots issued than voters registered"
        return rule[0].upper() + rule[1:] + "."


PUBLISHED = StationFilter()  # Kobak, Shpilkin & Pshenichnikov 2016, section 2
LEGACY = StationFilter(100, 100, 1.0, 1.0, True)  # tallyproof before: no caps, 100 ballots


@dataclass(frozen=True)
class IntegerTest:
    """Observed count of stations on an integer, its binomial-null expectation and spread."""

    quantity: str  # "turnout", "share" or "either"
    stations: int
    observed: int
    expected: float
    spread: float
    replicates: int
    window: float
    station_filter: StationFilter
    p_value: float  # share of replicates at least as large as the observed count
    hits: np.ndarray  # which of the filtered stations are on an integer
    probability: np.ndarray  # each filtered station's chance of that under the null

    @property
    def excess(self) -> float:
        return self.observed - self.expected

    @property
    def z(self) -> float:
        return self.excess / self.spread if self.spread > 0 else 0.0


def _replicate_counts(args: tuple[np.ndarray, int, int]) -> np.ndarray:
    probability, replicates, seed = args
    rng = np.random.default_rng(seed)
    counts = np.empty(replicates, dtype=np.int64)
    block = max(1, 4_000_000 // max(probability.size, 1))
    for start in range(0, replicates, block):
        stop = min(start + block, replicates)
        draws = rng.random((stop - start, probability.size), dtype=np.float32)
        counts[start:stop] = (draws < probability.astype(np.float32)).sum(axis=1)
    return counts


def monte_carlo_counts(
    probability: np.ndarray, replicates: int, seed: int, workers: int = 1
) -> np.ndarray:
    """`replicates` draws of the number of stations on an integer under the null, split over
    `workers` processes with independent, seeded streams (the same seed, the same answer)."""
    workers = max(1, min(workers or (os.cpu_count() or 1), replicates))
    if probability.size * replicates < _INLINE_DRAWS:
        workers = 1  # starting processes would cost more than the draws
    seeds = np.random.SeedSequence(seed).generate_state(workers)
    sizes = [replicates // workers + (i < replicates % workers) for i in range(workers)]
    jobs = [(probability, size, int(s)) for size, s in zip(sizes, seeds, strict=True) if size]
    if len(jobs) == 1:
        return _replicate_counts(jobs[0])
    with ProcessPoolExecutor(len(jobs)) as pool:
        return np.concatenate(list(pool.map(_replicate_counts, jobs)))


def integer_percentage_tests(
    registered: np.ndarray,
    issued: np.ndarray,
    polled: np.ndarray,
    leader_votes: np.ndarray,
    *,
    window: float = WINDOW,
    station_filter: StationFilter = PUBLISHED,
    replicates: int = 1000,
    seed: int = 0,
    workers: int = 1,
) -> tuple[np.ndarray, dict[str, IntegerTest]]:
    """The test for turnout, for the leader's share, and for either; returns which stations
    `station_filter` kept and the three results."""
    keep = station_filter.keep(registered, issued, polled, leader_votes)
    n_t, k_t = registered[keep], issued[keep]
    n_s, k_s = polled[keep], leader_votes[keep]
    hit_t, hit_s = on_integer(k_t, n_t, window), on_integer(k_s, n_s, window)
    q_t = hit_probability(n_t, k_t / n_t, window)
    q_s = hit_probability(n_s, k_s / n_s, window)
    cases = {
        "turnout": (hit_t, q_t),
        "share": (hit_s, q_s),
        "either": (hit_t | hit_s, 1.0 - (1.0 - q_t) * (1.0 - q_s)),
    }
    results = {}
    for offset, (name, (hits, q)) in enumerate(cases.items()):
        counts = monte_carlo_counts(q, replicates, seed + offset, workers)
        observed = int(hits.sum())
        results[name] = IntegerTest(
            name,
            int(keep.sum()),
            observed,
            float(counts.mean()),
            float(counts.std(ddof=1)),
            replicates,
            window,
            station_filter,
            float((counts >= observed).mean()),
            hits,
            q,
        )
    return keep, results
