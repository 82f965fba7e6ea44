"""Form 46, the ballot paper account: its rules (each accepted and refused) and its finding
against the station's Form 45."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyproof.domain.ballots import (
    account_findings,
    account_problems,
    check_ballot_account,
    parse_ballot_account,
)
from tallyproof.domain.problems import Rejected
from tallyproof.domain.structure import parse_structure
from tests.helpers import ELECTION, structure_doc

STRUCTURE = parse_structure(structure_doc())


def account_doc(**extra: Any) -> dict[str, Any]:
    doc = {
        "election": ELECTION,
        "station": "S1",
        "contest": "NA-1",
        "source": "presiding_officer",
        "received": 1000,
        "issued": 610,
        "spoilt": 5,
        "unused": 385,
        "time": "2024-02-08T18:30:00+05:00",
    }
    return doc | extra


def refused(doc: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(Rejected) as err:
        parse_ballot_account(doc)
    return [(p.code, p.field) for p in err.value.problems]


def test_an_account_that_adds_up_is_read_and_keeps_its_fields():
    account = parse_ballot_account(account_doc(tendered=2))
    assert (account.received, account.issued, account.spoilt, account.unused) == (1000, 610, 5, 385)
    assert account.document() == account_doc(tendered=2)
    assert check_ballot_account(STRUCTURE, account) == []


def test_received_must_be_issued_plus_spoilt_plus_unused():
    assert refused(account_doc(unused=384)) == [("ballots.account_mismatch", "received")]


def test_every_number_is_a_whole_number_of_zero_or_more():
    assert refused(account_doc(spoilt=-1)) == [("votes.negative", "spoilt")]
    assert refused(account_doc(issued="610")) == [("votes.not_integer", "issued")]
    assert ("schema.missing", "unused") in refused(
        {k: v for k, v in account_doc().items() if k != "unused"}
    )


def test_only_the_presiding_officer_keeps_the_account():
    assert refused(account_doc(source="agent:PTI")) == [("ballot_account.source", "source")]


def test_a_correction_names_what_it_supersedes_and_why():
    assert refused(account_doc(supersedes="abc")) == [("form.supersede_incomplete", "reason")]
    refusal = refused(account_doc(supersedes="abc", reason="re_poll"))
    assert refusal == [("schema.choice", "reason")]  # an account is corrected, not re-polled


def test_the_station_must_serve_the_contest_and_exist():
    doc = structure_doc()
    doc["stations"][0]["contests"] = ["PP-1"]
    structure = parse_structure(doc)
    problems = check_ballot_account(structure, parse_ballot_account(account_doc()))
    assert [(p.code, p.field) for p in problems] == [
        ("form.station_not_serving_contest", "station")
    ]
    unknown = check_ballot_account(STRUCTURE, parse_ballot_account(account_doc(station="S9")))
    assert [p.code for p in unknown] == ["form.unknown_station"]


def test_no_more_papers_issued_than_voters_on_the_roll():
    account = parse_ballot_account(account_doc(received=1200, issued=1001, unused=194))
    problems = check_ballot_account(STRUCTURE, account)
    assert [(p.code, p.field) for p in problems] == [
        ("ballots.issued_exceeds_registered", "issued")
    ]


def test_issued_against_polled_is_a_finding_only_when_they_differ():
    assert account_findings("NA-1", "S1", "acc", 610, "form", 610) == []
    (finding,) = account_findings("NA-1", "S1", "acc", 610, "form", 640)
    assert finding.code == "ballots.issued_differs_from_polled"
    assert finding.evidence["difference"] == 30
    assert finding.evidence["forms"] == ["form", "acc"]
    assert "30 more in the box" in finding.message


@given(
    issued=st.integers(0, 10**6), spoilt=st.integers(0, 10**4), unused=st.integers(0, 10**6),
    off=st.integers(-50, 50),
)  # fmt: skip
def test_the_account_balances_exactly_when_received_is_the_sum(
    issued: int, spoilt: int, unused: int, off: int
) -> None:
    received = issued + spoilt + unused + off
    problems = account_problems(received, issued, spoilt, unused)
    assert (problems == []) == (off == 0)
    if received >= 0:
        doc = account_doc(received=received, issued=issued, spoilt=spoilt, unused=unused)
        if off == 0:
            assert parse_ballot_account(doc).received == received
        else:
            assert refused(doc) == [("ballots.account_mismatch", "received")]
