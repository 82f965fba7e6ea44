"""Detection on known truth: ballots stuffed at a known 2 % of stations."""

from __future__ import annotations

import numpy as np

from tallyproof.forensics.arrays import StationArrays
from tallyproof.forensics.report import analyse
from tallyproof.forensics.simulate import (
    bimodal_election,
    honest_election,
    recall_and_false_positives,
    stuff_ballots,
)
from tallyproof.service.forensics import forensic_findings


def test_stuffing_at_two_percent_of_stations_is_found():
    rng = np.random.default_rng(2026)
    honest = honest_election(20000, 80, rng)
    stuffed, truth = stuff_ballots(honest, 0.02, rng)
    assert truth.sum() == 400
    assert (stuffed.turnout[truth] >= 0.845).all()  # round targets, whole ballots
    assert np.array_equal(stuffed.votes.sum(axis=1) + stuffed.rejected, stuffed.polled)

    recall, fpr = recall_and_false_positives(
        analyse(stuffed, replicates=50).flagged_stations(), truth
    )
    assert recall >= 0.85
    assert fpr <= 0.001
    clean = analyse(honest, replicates=50).flagged_stations()
    assert clean.sum() <= 10  # out of 20,000 honest stations


def test_findings_name_the_stuffed_stations_as_evidence():
    rng = np.random.default_rng(7)
    stuffed, truth = stuff_ballots(honest_election(5000, 20, rng), 0.02, rng)
    found = {f.code: f for f in forensic_findings("X-1", analyse(stuffed, replicates=50))}
    signature = found["forensics.stuffing_signature"]
    named = set(signature.evidence["stations"])
    assert signature.evidence["count"] == len(named)  # fewer than the evidence limit
    assert len(named & set(stuffed.station[truth])) >= 0.9 * len(named)
    assert sum(signature.evidence["by_region"].values()) == len(named)
    assert signature.contest == "X-1"


def test_an_honest_election_raises_no_integer_or_model_finding():
    an = analyse(honest_election(20000, 40, np.random.default_rng(9)), replicates=200)
    codes = {f.code for f in forensic_findings("X-1", an)}
    assert "forensics.integer_percentages" not in codes
    assert "forensics.integer_percentages_region" not in codes
    assert "forensics.fraud_model" not in codes


def two_blocs(seed: int, f_extreme: float = 0.0) -> StationArrays:
    """A two-bloc election (Uganda-like) as station arrays: the winner and one other."""
    e = bimodal_election(20000, np.random.default_rng(seed), f_extreme=f_extreme)
    issued = np.rint(e.turnout * e.registered).astype(np.int64)
    winner = np.minimum(np.rint(e.share * issued).astype(np.int64), issued)
    return StationArrays(
        station=np.array([f"S{i}" for i in range(e.registered.size)], dtype=object),
        region=e.region,
        registered=e.registered,
        issued=issued,
        polled=issued,
        rejected=np.zeros_like(issued),
        votes=np.column_stack([winner, issued - winner]),
        candidates=("W", "O"),
    )


def test_two_honest_blocs_raise_no_model_finding_and_stuffed_ones_do():
    """Fair blocs that are not quite normal leave a few per cent of "incremental fraud"
    between them; only extreme fraud may speak for a fit with several fair peaks."""
    for seed in (1, 2, 3):
        an = analyse(two_blocs(seed), replicates=20)
        assert len(an.fit.modes) == 2
        assert "forensics.fraud_model" not in {f.code for f in forensic_findings("X-1", an)}
    an = analyse(two_blocs(4, f_extreme=0.02), replicates=20)
    found = {f.code: f for f in forensic_findings("X-1", an)}
    assert found["forensics.fraud_model"].evidence["fair_peaks"] == 2
    assert "not proof of fraud" in found["forensics.fraud_model"].message
