"""The real Pakistani data sets: 2024 Form 45 vs Form 47, and 2018's seat arithmetic."""

from __future__ import annotations

from collections import Counter

import pytest

from tallyproof.importers import pk2018, pk2024
from tallyproof.importers.plan import run_plan
from tallyproof.service import queries
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata


def load(tmp_path, module, name):
    ctx = LedgerWriter.initialise(Settings.at(tmp_path))
    run_plan(ctx, module.build(shared_data(name)))
    return ctx


def test_2024_every_seat_where_form45_and_form47_disagree(tmp_path):
    ctx = load(tmp_path, pk2024, "pk2024-na-form45-vs-form47")
    try:
        findings = queries.findings(ctx)
        assert len(findings) == 58
        assert {f.code for f in findings} == {"declaration.source_conflict"}
        assert all(f.evidence["winner_differs"] for f in findings)
        (ict,) = [f for f in findings if f.contest == "NA-46"]
        assert {"candidate": "NA-46/1", "a": 85793, "b": 44317} in ict.evidence["differences"]
        seats = queries.standings(ctx)
        by_side = {r.side: r.won for r in seats}
        assert by_side["IND (PTI-backed)"] == 93  # as the commission's Form 47 declared
        assert sum(by_side.values()) == 265  # NA-8 was postponed: 0 votes, no winner
        (na8,) = queries.results(ctx, contest="NA-8")
        assert na8.winner is None and na8.polled == 0
    finally:
        ctx.close()


def test_2018_every_seat_whose_numbers_do_not_add_up(tmp_path):
    ctx = load(tmp_path, pk2018, "pk2018-na-pa-candidates")
    try:
        findings = queries.findings(ctx)
        by_rule = Counter((f.code, f.contest.split("-")[0] == "NA") for f in findings)
        assert by_rule == {
            ("votes.sum_mismatch", True): 46,
            ("votes.sum_mismatch", False): 103,
            ("ballots.accounting_mismatch", True): 19,
            ("ballots.accounting_mismatch", False): 37,
            ("contest.rejected_exceed_margin", True): 50,
            ("contest.rejected_exceed_margin", False): 120,
        }
        arithmetic = [f for f in findings if f.code != "contest.rejected_exceed_margin"]
        assert len({f.contest for f in arithmetic}) == 171
        close = {f.contest: f.evidence for f in findings if f.code.startswith("contest.")}
        assert all(e["basis"] == "declared" and e["rejected"] > e["margin"] for e in close.values())
        # Lahore's NA-131: won by 680 votes, with 3,835 ballots rejected
        assert (close["NA-131"]["margin"], close["NA-131"]["rejected"]) == (680, 3835)
        assert "NA-53" not in close  # 1,480 rejected against a 48,577 lead
        na102 = next(
            f for f in findings if f.contest == "NA-102" and f.code == "ballots.accounting_mismatch"
        )
        assert (na102.evidence["valid"], na102.evidence["rejected"], na102.evidence["polled"]) == (
            266192,
            6737,
            272926,
        )
        results = {r.contest: r for r in queries.results(ctx)}
        assert len(results) == 840
        assert results["NA-1"].winner.name == "Moulana Abdul Akbar Chitrali"
    finally:
        ctx.close()
