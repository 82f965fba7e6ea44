"""Ballot stuffing at known stations, to measure what the station-level tests detect."""

from __future__ import annotations

import numpy as np

from tallyproof.forensics.arrays import StationArrays


def stuff_ballots(
    a: StationArrays, fraction: float, rng: np.random.Generator
) -> tuple[StationArrays, np.ndarray]:
    """Pick `fraction` of the stations; at each, add ballots for the leader until turnout
    reaches a round target between 85 % and 100 % (the stuffer's habit: a whole number, often
    a multiple of 5). Return the altered arrays and which stations were stuffed."""
    n = a.size
    chosen = rng.choice(n, size=max(1, round(fraction * n)), replace=False)
    truth = np.zeros(n, dtype=bool)
    truth[chosen] = True
    targets = rng.choice(np.r_[85, 90, 95, 99, 100, 86:99], size=chosen.size) / 100
    wanted = np.rint(targets * a.registered[chosen]).astype(np.int64)
    extra = np.maximum(wanted - a.issued[chosen], 0)
    issued, polled, votes = a.issued.copy(), a.polled.copy(), a.votes.copy()
    issued[chosen] += extra
    polled[chosen] += extra
    votes[chosen, a.leader] += extra
    altered = StationArrays(
        a.station, a.region, a.registered, issued, polled, a.rejected, votes, a.candidates, a.names
    )
    return altered, truth


def recall_and_false_positives(detected: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    recall = float((detected & truth).sum() / max(truth.sum(), 1))
    false_positive_rate = float((detected & ~truth).sum() / max((~truth).sum(), 1))
    return recall, false_positive_rate


def honest_election(
    stations: int, regions: int, rng: np.random.Generator, candidates: int = 3
) -> StationArrays:
    """A fair election with regional character: each region has its own typical turnout and
    leader's support, each station varies around it, and every count is a binomial draw."""
    region = rng.integers(0, regions, stations)
    region_turnout = np.clip(rng.normal(0.6, 0.07, regions), 0.3, 0.85)
    region_share = np.clip(rng.normal(0.5, 0.08, regions), 0.25, 0.75)
    registered = rng.integers(300, 2500, stations)
    turnout = np.clip(rng.normal(region_turnout[region], 0.05), 0.2, 0.95)
    share = np.clip(rng.normal(region_share[region], 0.06), 0.1, 0.9)
    issued = rng.binomial(registered, turnout)
    rejected = rng.binomial(issued, 0.02)
    valid = issued - rejected
    votes = np.zeros((stations, candidates), dtype=np.int64)
    votes[:, 0] = rng.binomial(valid, share)
    rest = valid - votes[:, 0]
    for k in range(1, candidates - 1):
        votes[:, k] = rng.binomial(rest, 0.6)
        rest = rest - votes[:, k]
    votes[:, candidates - 1] = rest
    return StationArrays(
        station=np.array([f"S{i + 1:06d}" for i in range(stations)], dtype=object),
        region=np.array([f"R{r + 1:03d}" for r in region], dtype=object),
        registered=registered.astype(np.int64),
        issued=issued.astype(np.int64),
        polled=issued.astype(np.int64),
        rejected=rejected.astype(np.int64),
        votes=votes,
        candidates=tuple(f"K{k + 1}" for k in range(candidates)),
    )
