"""Every forensic test on one contest's stations, timed stage by stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tallyproof.forensics.arrays import StationArrays, region_groups
from tallyproof.forensics.digits import LastDigitTest, last_digit_test
from tallyproof.forensics.extremes import (
    accounting_violations,
    extreme_share,
    extreme_turnout,
    joint_outliers,
)
from tallyproof.forensics.fingerprint import FraudFit, fit_fraud_model
from tallyproof.forensics.integer import IntegerTest, integer_percentage_tests


@dataclass(frozen=True)
class RegionExcess:
    """Integer percentages in one region: observed against the null's exact mean and sd."""

    region: str
    stations: int
    observed: int
    expected: float
    spread: float
    stations_on_integers: tuple[str, ...]

    @property
    def z(self) -> float:
        return (self.observed - self.expected) / self.spread if self.spread > 0 else 0.0


@dataclass
class Analysis:
    arrays: StationArrays
    integer: dict[str, IntegerTest]
    integer_filter: np.ndarray
    regions: list[RegionExcess]
    digits: dict[str, LastDigitTest]
    fit: FraudFit
    extreme_turnout: np.ndarray
    extreme_share: np.ndarray
    extreme_share_candidate: np.ndarray
    outliers: np.ndarray
    accounting: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)

    def flagged_stations(self) -> np.ndarray:
        """Stations a station-level test points at: near-total turnout or support, or a
        joint outlier in turnout and the leader's share."""
        return self.extreme_turnout | self.extreme_share | self.outliers


def region_excess(a: StationArrays, keep: np.ndarray, test: IntegerTest) -> list[RegionExcess]:
    stations = a.station[keep]
    out = []
    for region, here in region_groups(a.region[keep]):
        q, hits = test.probability[here], test.hits[here]
        out.append(
            RegionExcess(
                region,
                int(here.size),
                int(hits.sum()),
                float(q.sum()),
                float(np.sqrt((q * (1 - q)).sum())),
                tuple(stations[here][hits]),
            )
        )
    return sorted(out, key=lambda r: -r.z)


def analyse(
    a: StationArrays, *, replicates: int = 1000, seed: int = 0, workers: int = 1
) -> Analysis:
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now

    leader_votes = a.votes[:, a.leader]
    keep, integer = integer_percentage_tests(
        a.registered,
        a.issued,
        a.polled,
        leader_votes,
        replicates=replicates,
        seed=seed,
        workers=workers,
    )
    lap("integer percentages")
    regions = region_excess(a, keep, integer["either"])
    lap("integer percentages by region")
    digits = {
        "all candidates": last_digit_test(a.votes.ravel()),
        "leader": last_digit_test(leader_votes),
    }
    lap("last digits")
    fit = fit_fraud_model(a.registered, a.turnout, a.share(), seed=seed)
    lap("fingerprint and fraud model")
    share_mask, share_candidate = extreme_share(a)
    result = Analysis(
        a,
        integer,
        keep,
        regions,
        digits,
        fit,
        extreme_turnout(a),
        share_mask,
        share_candidate,
        joint_outliers(a),
        accounting_violations(a),
        seconds,
    )
    lap("extremes, accounting and outliers")
    return result
