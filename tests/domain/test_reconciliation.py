"""Findings from comparing declared totals, stations and sources."""

from __future__ import annotations

from tallyproof.domain.consolidation import FormRecord, consolidate
from tallyproof.domain.declarations import declaration_findings, parse_declaration
from tallyproof.domain.findings import Severity
from tallyproof.domain.forms import parse_form
from tallyproof.domain.reconciliation import (
    DeclarationRecord,
    reconcile_declaration,
    reconcile_declarations,
    reconcile_station,
)
from tallyproof.domain.structure import parse_structure
from tests.helpers import ELECTION, form_doc, structure_doc

STRUCTURE = parse_structure(structure_doc(stations=3))
CONTEST = STRUCTURE.contest("NA-1")


def heads(*votes):
    return {
        f"S{i}": FormRecord(f"f{i}", i, parse_form(form_doc(station=f"S{i}", votes=v)))
        for i, v in enumerate(votes, 1)
    }


def declared(votes, source="returning_officer", **extra):
    doc = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": source,
        "votes": votes,
        "time": "2024-02-09T10:00:00Z",
        **extra,
    }
    return DeclarationRecord(f"d-{source}", 10, parse_declaration(doc))


def test_a_declared_total_that_moved_names_candidate_numbers_and_stations():
    station_heads = heads((300, 100, 0), (300, 100, 0), (300, 100, 0))
    computed = consolidate(STRUCTURE, CONTEST, station_heads)
    breakdown = {"S1": {"NA-1/a": 300}, "S2": {"NA-1/a": 50}, "S3": {"NA-1/a": 50}}
    record = declared({"NA-1/a": 400, "NA-1/b": 300, "NA-1/c": 0}, stations=breakdown)
    (finding,) = reconcile_declaration(CONTEST, computed, station_heads, record)
    assert finding.code == "consolidation.mismatch"
    assert finding.candidate == "NA-1/a"
    assert (finding.evidence["station_forms_total"], finding.evidence["declared"]) == (900, 400)
    assert [s["station"] for s in finding.evidence["stations"]] == ["S2", "S3"]
    assert finding.evidence["forms"] == ["f2", "f3"]
    assert finding.severity is Severity.HIGH  # the winner is the same
    assert "900 votes in the polling-station forms but 400" in finding.message


def test_a_moved_total_that_changes_the_winner_is_critical():
    station_heads = heads((300, 200, 0), (300, 200, 0), (300, 200, 0))
    computed = consolidate(STRUCTURE, CONTEST, station_heads)
    record = declared({"NA-1/a": 300, "NA-1/b": 600, "NA-1/c": 0})
    winner, finding = reconcile_declaration(CONTEST, computed, station_heads, record)
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["stations"] == []
    assert winner.code == "consolidation.winner_differs"
    assert winner.severity is Severity.CRITICAL
    assert "declares Bushra" in winner.message and "forms give Aamir" in winner.message
    assert (winner.evidence["declared_winner"], winner.evidence["computed_winner"]) == (
        "NA-1/b",
        "NA-1/a",
    )
    assert winner.evidence["computed"]["NA-1/a"] == 900


def test_offsetting_station_changes_are_found_even_when_totals_agree():
    station_heads = heads((300, 100, 0), (300, 100, 0), (300, 100, 0))
    computed = consolidate(STRUCTURE, CONTEST, station_heads)
    breakdown = {"S1": {"NA-1/a": 400}, "S2": {"NA-1/a": 200}}
    record = declared({"NA-1/a": 900, "NA-1/b": 300, "NA-1/c": 0}, stations=breakdown)
    (finding,) = reconcile_declaration(CONTEST, computed, station_heads, record)
    assert finding.code == "consolidation.offsetting"
    assert {s["station"] for s in finding.evidence["stations"]} == {"S1", "S2"}


def test_an_incomplete_count_is_reported_at_medium_severity():
    station_heads = heads((300, 100, 0))
    computed = consolidate(STRUCTURE, CONTEST, station_heads)
    (finding,) = reconcile_declaration(CONTEST, computed, station_heads, declared({"NA-1/a": 100}))
    assert finding.severity is Severity.MEDIUM and "2 stations have not reported" in finding.message


def test_agreeing_declaration_has_no_finding():
    station_heads = heads((300, 100, 5), (1, 2, 3))
    computed = consolidate(STRUCTURE, CONTEST, station_heads)
    assert (
        reconcile_declaration(
            CONTEST, computed, station_heads, declared({"NA-1/a": 301, "NA-1/b": 102, "NA-1/c": 8})
        )
        == []
    )


def test_sources_disagreeing_on_a_station():
    official = FormRecord("po", 1, parse_form(form_doc(votes=(300, 200, 100))))
    agent = FormRecord("ag", 2, parse_form(form_doc(votes=(300, 398, 100), source="agent:PML-N")))
    partial = form_doc(votes=(300,), source="observer:FAFEN", polled=610)  # agrees with the PO
    observer = FormRecord("ob", 3, parse_form(partial))
    found = reconcile_station(
        "S1", CONTEST, {"official": official, "agent:PML-N": agent, "observer:FAFEN": observer}
    )
    pairs = {tuple(f.evidence["sources"]): f for f in found}
    assert set(pairs) == {("agent:PML-N", "presiding_officer"), ("agent:PML-N", "observer:FAFEN")}
    conflict = pairs[("agent:PML-N", "presiding_officer")]
    assert conflict.severity is Severity.HIGH
    assert {"field": "NA-1/b", "a": 398, "b": 200} in conflict.evidence["differences"]
    assert pairs[("agent:PML-N", "observer:FAFEN")].severity is Severity.MEDIUM


def test_two_sources_declaring_different_totals():
    ro = declared({"NA-1/a": 44317, "NA-1/b": 81958})
    party = declared({"NA-1/a": 85793, "NA-1/b": 42048}, source="agent:PTI")
    same = declared({"NA-1/a": 44317, "NA-1/b": 81958}, source="observer:FAFEN")
    (finding,) = [
        f
        for f in reconcile_declarations(CONTEST, [ro, party, same])
        if "observer:FAFEN" not in f.evidence["sources"]
    ]
    assert finding.code == "declaration.source_conflict"
    assert finding.severity is Severity.CRITICAL and finding.evidence["winner_differs"]
    assert len(reconcile_declarations(CONTEST, [ro, same])) == 0


def test_declared_arithmetic_becomes_findings_with_the_rule_code():
    record = declared(
        {"NA-1/a": 100, "NA-1/b": 50}, valid=160, rejected=5, polled=170, registered=150
    )
    codes = {f.code for f in declaration_findings(record.declaration, record.declaration_id)}
    assert codes == {
        "votes.sum_mismatch",
        "ballots.accounting_mismatch",
        "ballots.exceeds_registered",
    }
    clean = declared(
        {"NA-1/a": 100, "NA-1/b": 50}, valid=150, rejected=5, polled=155, registered=300
    )
    assert declaration_findings(clean.declaration, "x") == []
