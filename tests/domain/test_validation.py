"""The rules a form keeps before it is accepted, one test per rule and code."""

from __future__ import annotations

from tallyproof.domain.forms import parse_form
from tallyproof.domain.status import ContestStatus, StationStatus
from tallyproof.domain.structure import parse_structure
from tallyproof.domain.validation import (
    StoredForm,
    check_form,
    check_status,
    check_succession,
    copy_findings,
)
from tests.helpers import form_doc, structure_doc

STRUCTURE = parse_structure(structure_doc())


def codes(doc: dict) -> set[tuple[str, str]]:
    return {(p.code, p.field) for p in check_form(STRUCTURE, parse_form(doc))}


def test_a_correct_form_breaks_no_rule():
    assert codes(form_doc()) == set()


def test_unknown_station_and_contest():
    assert ("form.unknown_station", "station") in codes(form_doc(station="S99"))
    assert ("form.unknown_contest", "contest") in codes(form_doc(contest="NA-9"))


def test_another_elections_form_is_refused():
    assert ("form.unknown_election", "election") in codes(form_doc(election="other"))


def test_station_must_serve_the_contest():
    doc = structure_doc()
    doc["stations"][0]["contests"] = ["PP-1"]
    structure = parse_structure(doc)
    problems = check_form(structure, parse_form(form_doc(station="S1")))
    assert [(p.code, p.field) for p in problems] == [
        ("form.station_not_serving_contest", "station")
    ]


def test_candidate_not_on_the_roster():
    doc = form_doc()
    doc["votes"]["PP-1/x"] = 5
    doc["polled"] += 5
    assert ("votes.unknown_candidate", "votes.PP-1/x") in codes(doc)


def test_an_official_form_lists_every_candidate_an_agent_copy_need_not():
    official = form_doc(votes=(300, 200))
    assert ("votes.missing_candidate", "votes.NA-1/c") in codes(official)
    assert codes(form_doc(votes=(300, 200), source="agent:PTI")) == set()


def test_a_copy_that_does_not_add_up_is_evidence_not_refused():
    """Only the presiding and returning officers' documents must add up; an agent's or an
    observer's copy that does not is kept, and `copy_findings` reports it."""
    too_many = form_doc(votes=(300,), source="agent:PTI", polled=200)
    assert codes(too_many) == set()
    assert codes(form_doc(source="observer:FAFEN", valid=601)) == set()
    off = form_doc(source="media:Dawn")
    off["polled"] += 7
    assert codes(off) == set()
    official = form_doc(valid=601)
    assert ("votes.sum_mismatch", "valid") in codes(official)


def copy_codes(doc: dict) -> list[tuple[str, object]]:
    form = parse_form(doc)
    contest = STRUCTURE.contest(form.contest)
    counts = (form.votes, form.rejected, form.polled, form.valid)
    found = copy_findings(contest, form.station, "f1", form.source.label, counts)
    return [
        (f.code, f.evidence.get("candidates_missing") or f.evidence.get("problems")) for f in found
    ]


def test_a_partial_copy_is_a_finding_naming_the_candidates_it_lacks():
    partial = form_doc(votes=(300,), source="agent:PTI", polled=610)
    assert copy_codes(partial) == [("form.partial_copy", ["NA-1/b", "NA-1/c"])]


def test_a_partial_copy_adds_up_when_it_does_not_overcount():
    fits = form_doc(votes=(300,), source="agent:PTI", polled=610)
    over = form_doc(votes=(300,), source="agent:PTI", polled=200)
    assert [c for c, _ in copy_codes(fits)] == ["form.partial_copy"]
    assert [c for c, _ in copy_codes(over)] == ["form.partial_copy", "form.copy_does_not_add_up"]


def test_a_complete_copy_that_does_not_add_up_says_which_number():
    stated = copy_codes(form_doc(source="observer:FAFEN", valid=601))
    assert stated == [
        ("form.copy_does_not_add_up", [{"field": "valid", "stated": 601, "sum_of_votes": 600}])
    ]
    off = form_doc(source="agent:PTI")
    off["polled"] += 1
    ((code, problems),) = copy_codes(off)
    assert code == "form.copy_does_not_add_up" and problems[0]["field"] == "polled"
    assert copy_codes(form_doc(source="agent:PTI")) == []


def test_stated_valid_total_must_equal_the_sum():
    assert ("votes.sum_mismatch", "valid") in codes(form_doc(valid=601))
    assert codes(form_doc(valid=600)) == set()


def test_valid_plus_rejected_must_equal_polled():
    doc = form_doc()
    doc["polled"] += 1
    assert codes(doc) == {("ballots.accounting_mismatch", "polled")}


def test_polled_may_not_exceed_registered_voters():
    doc = form_doc(votes=(600, 300, 100), rejected=1)
    assert ("ballots.exceeds_registered", "polled") in codes(doc)
    assert codes(form_doc(votes=(600, 300, 90), rejected=10)) == set()  # exactly 1000


def test_status_rules():
    form = parse_form(form_doc())
    assert check_status(form, ContestStatus.COUNTING, StationStatus.OPEN) == []
    postponed = check_status(form, ContestStatus.POSTPONED, StationStatus.OPEN)
    assert [p.code for p in postponed] == ["contest.postponed"]
    assert [p.code for p in check_status(form, ContestStatus.FINAL, StationStatus.OPEN)] == [
        "contest.final"
    ]
    agent = parse_form(form_doc(source="agent:PTI"))
    assert check_status(agent, ContestStatus.FINAL, StationStatus.OPEN) == []
    assert [
        p.code for p in check_status(form, ContestStatus.COUNTING, StationStatus.SUSPENDED)
    ] == ["station.suspended"]
    re_poll = parse_form(form_doc(supersedes="a" * 64, reason="re_poll"))
    assert [p.code for p in check_status(re_poll, ContestStatus.COUNTING, StationStatus.OPEN)] == [
        "form.re_poll_not_ordered"
    ]


def stored(form_id: str, superseded: bool = False, station: str = "S1", seq: int = 5) -> StoredForm:
    return StoredForm(form_id, seq, "test-2024", station, "NA-1", "official", superseded)


def test_succession_rules():
    first = parse_form(form_doc())
    assert check_succession(first, None, None) == []
    assert [p.code for p in check_succession(first, stored("A"), None)] == ["form.conflict"]
    fix = parse_form(form_doc(supersedes="A", reason="correction"))
    assert check_succession(fix, stored("A"), stored("A")) == []
    assert [p.code for p in check_succession(fix, stored("A"), None)] == ["form.supersedes_unknown"]
    assert [p.code for p in check_succession(fix, stored("B"), stored("A", True))] == [
        "form.supersedes_stale"
    ]
    elsewhere = stored("A", station="S2")
    assert [p.code for p in check_succession(fix, None, elsewhere)] == ["form.supersedes_mismatch"]


def test_after_a_re_poll_order_the_replacement_must_be_the_re_poll():
    fix = parse_form(form_doc(supersedes="A", reason="correction"))
    assert [p.code for p in check_succession(fix, stored("A", seq=5), stored("A", seq=5), 9)] == [
        "form.reason_mismatch"
    ]
    re_poll = parse_form(form_doc(supersedes="A", reason="re_poll"))
    assert check_succession(re_poll, stored("A", seq=5), stored("A", seq=5), 9) == []
    # a correction of the re-poll's own form is an ordinary correction
    assert check_succession(fix, stored("A", seq=12), stored("A", seq=12), 9) == []
