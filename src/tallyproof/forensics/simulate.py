"""Ballot stuffing at known stations, to measure what the station-level tests detect."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class SimulatedFingerprint:
    """Stations' registered voters, turnout, winner's share and region, and the truth: each
    station's bloc (0: low support, 1: high) and kind (0 fair, 1 incremental, 2 extreme)."""

    registered: np.ndarray
    turnout: np.ndarray
    share: np.ndarray
    region: np.ndarray
    bloc: np.ndarray
    kind: np.ndarray


def bimodal_election(
    stations: int,
    rng: np.random.Generator,
    f_incremental: float = 0.0,
    f_extreme: float = 0.0,
    spread: float = 0.1,
    regions: int = 100,
) -> SimulatedFingerprint:
    """Two blocs of regions, like Uganda 2011's north and the rest: the winner's share centred
    near 0.35 at turnout near 0.45 in a third of the regions, near 0.80 at turnout near 0.70 in
    the others, each region varying around its bloc. Registered voters are log-normal (median
    700, as at Uganda's and Russia's stations) and counts are binomial. Then the fingerprint
    model's own fraud, at every station independently: incremental (probability f_incremental;
    x, y ~ |N(0, spread)|) or extreme (f_extreme; x, y = 1 - |N(0, 0.075)|), where x is the
    fraction of non-voters' ballots stuffed for the winner and y the fraction of the others'
    votes moved to the winner."""
    high = rng.random(regions) >= 1 / 3
    region_turnout = np.where(high, 0.70, 0.45) + rng.normal(0, 0.03, regions)
    region_share = np.where(high, 0.80, 0.35) + rng.normal(0, 0.04, regions)
    region = rng.integers(0, regions, stations)
    registered = np.clip(np.rint(rng.lognormal(np.log(700), 0.5, stations)), 100, 5000)
    turnout = np.clip(rng.normal(region_turnout[region], 0.07), 0.05, 0.98)
    share = np.clip(rng.normal(region_share[region], 0.07), 0.02, 0.98)
    kind = rng.choice(3, stations, p=[1 - f_incremental - f_extreme, f_incremental, f_extreme])
    x = np.where(kind == 1, np.abs(rng.normal(0, spread, stations)), 0.0)
    y = np.where(kind == 1, np.abs(rng.normal(0, spread, stations)), 0.0)
    x = np.where(kind == 2, 1 - np.abs(rng.normal(0, 0.075, stations)), x).clip(0, 1)
    y = np.where(kind == 2, 1 - np.abs(rng.normal(0, 0.075, stations)), y).clip(0, 1)
    voters = rng.binomial(registered.astype(np.int64), turnout)
    winner = rng.binomial(voters, share)
    stuffed = np.rint(x * (registered - voters))
    moved = np.rint(y * (voters - winner))
    new_voters = voters + stuffed
    with np.errstate(divide="ignore", invalid="ignore"):
        new_share = np.where(new_voters > 0, (winner + stuffed + moved) / new_voters, np.nan)
    return SimulatedFingerprint(
        registered.astype(np.int64),
        new_voters / registered,
        new_share,
        np.array([f"R{r + 1:03d}" for r in region], dtype=object),
        high[region].astype(np.int64),
        kind.astype(np.int64),
    )
