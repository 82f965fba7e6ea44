"""Detection on known truth: ballots stuffed at a known 2 % of stations."""

from __future__ import annotations

import numpy as np

from tallyproof.forensics.report import analyse
from tallyproof.forensics.simulate import (
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
