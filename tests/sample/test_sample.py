"""The shipped sample elections: totals as reported, and the findings the stories imply."""

from __future__ import annotations

import pytest

from tallyproof.importers.plan import run_plan
from tallyproof.sample.generator import build_sample, load_stories, split_total
from tallyproof.service import queries
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    ctx = LedgerWriter.initialise(Settings.at(tmp_path_factory.mktemp("sample")))
    run_plan(ctx, build_sample())
    yield ctx
    ctx.close()


def test_split_total_is_exact():
    assert split_total(10, [1, 1, 1]) == [4, 3, 3] or sum(split_total(10, [1, 1, 1])) == 10
    assert sum(split_total(117109, [0.3, 1.7, 0.9, 1.1])) == 117109


def test_the_sample_is_reproducible():
    a, b = build_sample(), build_sample()
    assert [s.envelopes for s in a.steps] == [s.envelopes for s in b.steps]


def test_station_forms_sum_to_the_reported_totals(loaded):
    for story in load_stories()["elections"]:
        eid = story["election"]["id"]
        by_contest = {r.contest: r for r in queries.results(loaded, eid)}
        for contest in story["contests"]:
            result = by_contest[contest["code"]]
            if "postponed" in contest:
                assert result.status.value == "postponed"
                continue
            votes = {s.candidate: s.votes for s in result.ranking}
            assert votes == {c["id"]: c["votes"] for c in contest["candidates"]}
            assert result.stations_reported == result.stations_total == contest["stations"]


def test_ps129_declaration_is_a_critical_finding_naming_its_stations(loaded):
    findings = queries.findings(loaded, "pk-ge-2024")
    (ps129,) = [f for f in findings if f.contest == "PS-129" and f.code == "consolidation.mismatch"]
    assert ps129.severity.value == "critical"
    (winner,) = [f for f in findings if f.code == "consolidation.winner_differs"]
    assert winner.contest == "PS-129" and winner.severity.value == "critical"
    assert len(winner.evidence["stations"]) == 20
    assert (ps129.evidence["station_forms_total"], ps129.evidence["declared"]) == (31000, 11000)
    assert len(ps129.evidence["stations"]) == 20
    assert sum(s["form_votes"] - s["declared_votes"] for s in ps129.evidence["stations"]) == 20000


def test_the_agents_copy_differs_by_198_votes_at_one_station(loaded):
    (conflict,) = [
        f for f in queries.findings(loaded, "pk-ge-2024") if f.code == "station.source_conflict"
    ]
    diffs = {d["field"]: d["a"] - d["b"] for d in conflict.evidence["differences"]}
    assert diffs == {"NA-122/saad-rafique": -198, "polled": -198}


def test_the_dik_re_poll_keeps_the_first_count_and_counts_the_second(loaded):
    with loaded.read() as reader:
        forms = reader.forms("kp-lg-2021-phase1", "DIK-mayor")
    replaced = [f for f in forms if f.reason == "re_poll"]
    assert len(replaced) == 1
    assert any(f.form_id == replaced[0].supersedes for f in forms)
    assert len(forms) == 31  # 26 on polling day, 4 re-polled stations, of which 1 superseded
    assert queries.findings(loaded, "kp-lg-2021-phase1") == []


def test_the_news_reports_are_claims_checked_against_each_other_and_the_forms(loaded):
    """The sample's reports: one outlet prints 77,709 for Saad Rafique where the forms (and
    another outlet) say 77,907; a report repeats the returning officer's 11,000 for Saif Bari
    where the forms say 31,000. Claims within their qualifier ("more than 39,000" for a
    39,202 margin, "more than 24,000" for 24,862) raise nothing."""
    findings = [f for f in queries.findings(loaded, "pk-ge-2024") if f.code.startswith("claim.")]
    summary = sorted((f.code, f.contest, f.candidate) for f in findings)
    assert summary == [
        ("claim.contradicts_official", "NA-122", "NA-122/saad-rafique"),
        ("claim.contradicts_official", "PS-129", "PS-129/saif-bari"),
        ("claim.outlets_disagree", "NA-122", "NA-122/saad-rafique"),
        ("claim.winner_not_leading", "PS-129", "PS-129/hafiz-naeem"),
    ]
    (disagree,) = [f for f in findings if f.code == "claim.outlets_disagree"]
    said = {c["outlet"]: (c["value"], c["sentence"]) for c in disagree.evidence["claims"]}
    assert said["Indus Courier"][0] == 77709 and "77,709" in said["Indus Courier"][1]
    assert said["Margalla Times"][0] == 77907
    assert [f for f in queries.findings(loaded, "kp-lg-2021-phase1")] == []
    claims = queries.stored_claims(loaded, "kp-lg-2021-phase1")
    assert {(c.claim.kind, c.claim.value) for c in claims} >= {("margin", 24000), ("votes", 63753)}
    assert all(c.claim.linked for c in claims)
