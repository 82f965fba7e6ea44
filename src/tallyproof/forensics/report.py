"""Every forensic test on one contest's stations, timed stage by stage, with a callback that
tells a progress bar which stage runs (the whole analysis of a large election takes tens of
seconds, and a spinner says nothing about how far it got)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
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
from tallyproof.forensics.integer import (
    PUBLISHED,
    IntegerTest,
    StationFilter,
    integer_percentage_tests,
)

# The stages of `analyse`, in the order they run; `Analysis.seconds` is keyed by them.
STAGES = (
    "integer percentages",
    "integer percentages by region",
    "last digits",
    "fingerprint and fraud model",
    "extremes, accounting and outliers",
)

Progress = Callable[[str, int, int], None]
"""Told (stage, done, total): (stage, 0, total) when a stage starts, (stage, total, total)
when it ends."""


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

    def stations_to_check(self) -> np.ndarray:
        """Every station a reporter might call about: the flagged ones, and those whose own
        ballot accounting does not add up. Stations on an integer percentage are not among
        them: at any one station that happens by chance one time in five or so, and the
        excess is a property of a region, not of a station."""
        mask = self.flagged_stations().copy()
        for violated in self.accounting.values():
            mask |= violated
        return mask

    def integer_hits(self, quantity: str) -> np.ndarray:
        """Per station of the contest: 1 on an integer `quantity` ("turnout", "share"), 0
        off it, -1 where the station filter left it out of the test."""
        out = np.full(self.arrays.size, -1, dtype=np.int8)
        out[self.integer_filter] = self.integer[quantity].hits
        return out


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


def format_p(p: float, replicates: int | None = None) -> str:
    """A p-value a reader can take in. From Monte Carlo replicates, a p of 0 only says that
    no replicate reached the observed count: "p < 0.001 (none of 1,000 replicates)", never
    "p = 0.0e+00". Analytic p-values below 0.001 are written as powers of ten."""
    if replicates and p * replicates < 0.5:
        bound = _plain(1 / replicates)
        return f"p < {bound} (none of {replicates:,} replicates)"
    if p >= 0.001:
        return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
    if p <= 0 or not math.isfinite(p):
        return "p < 10⁻³⁰⁰"
    exponent = math.floor(math.log10(p))
    mantissa = p / 10**exponent
    return f"p = {mantissa:.1f}\u00a0×\u00a010{_superscript(exponent)}"  # kept on one line


def _plain(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def analyse(
    a: StationArrays,
    *,
    replicates: int = 1000,
    seed: int = 0,
    workers: int = 1,
    progress: Progress | None = None,
    station_filter: StationFilter = PUBLISHED,
) -> Analysis:
    """Every test on the contest's stations; `progress` hears each stage of `STAGES` start
    and end, in order."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    tell = progress or (lambda _stage, _done, _total: None)
    tell(STAGES[0], 0, 1)

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now
        tell(stage, 1, 1)
        following = STAGES.index(stage) + 1
        if following < len(STAGES):
            tell(STAGES[following], 0, 1)

    leader_votes = a.votes[:, a.leader]
    keep, integer = integer_percentage_tests(
        a.registered,
        a.issued,
        a.polled,
        leader_votes,
        replicates=replicates,
        seed=seed,
        workers=workers,
        station_filter=station_filter,
    )
    lap(STAGES[0])
    regions = region_excess(a, keep, integer["either"])
    lap(STAGES[1])
    digits = {
        "all candidates": last_digit_test(a.votes.ravel()),
        "leader": last_digit_test(leader_votes),
    }
    lap(STAGES[2])
    fit = fit_fraud_model(a.registered, a.turnout, a.share(), seed=seed)
    lap(STAGES[3])
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
    lap(STAGES[4])
    return result
