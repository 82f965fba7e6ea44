"""News claims through the service: read, file (signed for media:<outlet>), refuse what is
wrong, keep everything filed, and reconcile — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.service import queries, submission
from tallyproof.service.claims import FilingError, read_claims, report_documents
from tests.helpers import ELECTION, form_doc, make_election

REPORT = """outlet: Dawn
date: 2024-02-09

LAHORE: In NA-1, PTI-backed Aamir bagged 1,200 votes while PML-N's Bushra got more than 700 votes.

Hamid got 400 votes, unofficial results showed.
"""


@pytest.fixture
def election(tmp_path, store_url):
    e = make_election(tmp_path / "home", store_url)
    yield e
    e.ctx.close()


def file(election, text: str, key, **options):
    read = read_claims(election.ctx, text, **options)
    envelopes = [sign(EntryKind.CLAIM, d, key).envelope() for d in report_documents(read)]
    return read, submission.submit_claim_reports(election.ctx, envelopes)


def test_a_report_is_read_linked_filed_once_and_kept(election):
    dawn = election.register("media/dawn", "media:Dawn")
    read, (outcome,) = file(election, REPORT, dawn)
    assert outcome.accepted and outcome.receipt is not None
    assert read.outlet == "Dawn" and read.published == "2024-02-09"
    links = [(c.value, c.candidate_id, c.unlinked) for c in read.claims]
    assert links == [
        (1200, "NA-1/a", ""),
        (700, "NA-1/b", ""),
        (400, "", "no candidate named 'Hamid' in NA-1"),
    ]
    stored = queries.stored_claims(election.ctx)
    assert [(s.outlet, s.claim.value, s.claim.linked) for s in stored] == [
        ("Dawn", 1200, True),
        ("Dawn", 700, True),
        ("Dawn", 400, False),
    ]
    _, (again,) = file(election, REPORT, dawn)
    assert again.accepted and again.duplicate
    assert len(queries.stored_claims(election.ctx)) == 3


def test_a_key_speaks_only_for_its_own_outlet(election):
    dawn = election.register("media/dawn", "media:Dawn")
    _, (outcome,) = file(election, REPORT.replace("outlet: Dawn", "outlet: Geo News"), dawn)
    assert [p.code for p in outcome.problems] == ["signature.wrong_source"]
    assert queries.stored_claims(election.ctx) == []


def test_a_malformed_or_wrongly_linked_report_is_refused_naming_the_field(election):
    dawn = election.register("media/dawn", "media:Dawn")
    (doc,) = report_documents(read_claims(election.ctx, REPORT))
    bad = [
        {**doc, "claims": [{**doc["claims"][0], "qualifier": "maybe"}]},
        {**doc, "claims": [{**doc["claims"][0], "value": -5}]},
        {**doc, "claims": [{**doc["claims"][0], "candidate_id": "NA-1/zz"}]},
        {**doc, "source": "agent:PTI"},
    ]
    outcomes = submission.submit_claim_reports(
        election.ctx, [sign(EntryKind.CLAIM, d, dawn).envelope() for d in bad]
    )
    assert [(p.code, p.field) for o in outcomes for p in o.problems] == [
        ("schema.choice", "claims[0].qualifier"),
        ("votes.negative", "claims[0].value"),
        ("votes.unknown_candidate", "claims[0].candidate_id"),
        ("claim.source", "source"),
    ]
    assert queries.stored_claims(election.ctx) == []


def test_claims_are_held_against_the_official_count_once_it_is_complete(election):
    dawn = election.register("media/dawn", "media:Dawn")
    geo = election.register("media/geo", "media:Geo News")
    file(election, REPORT, dawn)
    file(election, REPORT.replace("Dawn", "Geo News").replace("1,200", "1,100"), geo)
    codes = [f.code for f in queries.findings(election.ctx)]
    assert codes == ["claim.outlets_disagree"]  # counting has not started: nothing to hold
    assert election.submit(*(form_doc(s) for s in ("S1", "S2", "S3"))) and codes
    assert [f.code for f in queries.claim_findings(election.ctx)] == ["claim.outlets_disagree"]
    election.submit(form_doc("S4"))  # complete: Aamir 1,200, Bushra 800
    found = queries.claim_findings(election.ctx, ELECTION)
    assert sorted(f.code for f in found) == ["claim.contradicts_official", "claim.outlets_disagree"]
    (wrong,) = [f for f in found if f.code == "claim.contradicts_official"]
    assert wrong.evidence["claim"]["outlet"] == "Geo News" and wrong.evidence["official"] == 1200
    # "more than 700" holds for 800: no finding for Bushra from either outlet
    assert all(f.candidate != "NA-1/b" for f in found)


def test_a_report_without_an_outlet_or_a_date_cannot_be_filed(election):
    read = read_claims(election.ctx, "In NA-1, Aamir bagged 1,200 votes.")
    with pytest.raises(FilingError, match="names no outlet"):
        report_documents(read)
    with pytest.raises(FilingError, match="has no date"):
        report_documents(replace(read, outlet="Dawn"))
    (doc,) = report_documents(replace(read, outlet="Dawn", published="2024-02-09"))
    assert doc["source"] == "media:Dawn" and doc["published"] == "2024-02-09"
