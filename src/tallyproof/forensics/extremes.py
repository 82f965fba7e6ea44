"""Stations that stand out: near-total turnout or support, impossible ballot accounting, and
joint outliers in turnout and the leader's share (where stuffed boxes sit)."""

from __future__ import annotations

import numpy as np

from tallyproof.forensics.arrays import StationArrays, region_groups

TURNOUT_EXTREME = 0.99
SHARE_EXTREME = 0.95
OUTLIER_Z_TURNOUT = 3.5  # robust deviations of turnout above the region's typical station
OUTLIER_Z_SHARE = 1.0  # and of the leader's share
MIN_REGION = 30  # stations a region needs to be its own yardstick


def extreme_turnout(a: StationArrays, threshold: float = TURNOUT_EXTREME) -> np.ndarray:
    return np.nan_to_num(a.turnout) >= threshold


def extreme_share(
    a: StationArrays, threshold: float = SHARE_EXTREME
) -> tuple[np.ndarray, np.ndarray]:
    """Stations where some candidate has at least `threshold` of the ballots, and who."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(a.polled[:, None] > 0, a.votes / np.maximum(a.polled, 1)[:, None], 0.0)
    best = shares.argmax(axis=1) if shares.size else np.zeros(a.size, dtype=int)
    top = shares.max(axis=1) if shares.size else np.zeros(a.size)
    return (top >= threshold) & (a.polled >= 10), best


def accounting_violations(a: StationArrays) -> dict[str, np.ndarray]:
    """Masks of stations whose own numbers do not add up."""
    return {
        "ballots.exceeds_registered": a.polled > a.registered,
        "ballots.issued_exceeds_registered": a.issued > a.registered,
        "ballots.more_in_boxes_than_issued": a.polled > a.issued,
        "ballots.accounting_mismatch": a.valid + a.rejected != a.polled,
    }


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 * MAD): a z-score a minority of outliers cannot drag."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    median = np.median(finite)
    mad = 1.4826 * np.median(np.abs(finite - median)) or 1e-9
    return np.nan_to_num((values - median) / mad)


def regional_z(
    values: np.ndarray, region: np.ndarray, min_stations: int = MIN_REGION
) -> np.ndarray:
    """Robust z-scores against the station's own region (regions differ in what is typical),
    or against the whole contest where a region has fewer than `min_stations` stations."""
    z = robust_z(values)
    for _, members in region_groups(region):
        if members.size >= min_stations:
            z[members] = robust_z(values[members])
    return z


def joint_outliers(
    a: StationArrays, z_turnout: float = OUTLIER_Z_TURNOUT, z_share: float = OUTLIER_Z_SHARE
) -> np.ndarray:
    """Turnout far above the station's region and the leader's share above it too: the
    signature of ballots added for the leader. Stuffing moves turnout much more than the
    share (the share only rises by the added ballots' weight), hence the two thresholds."""
    return (regional_z(a.turnout, a.region) >= z_turnout) & (
        regional_z(a.share(), a.region) >= z_share
    )
