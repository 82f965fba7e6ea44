"""The NIST SP 1500-100 Election Results CDF export: every document validates against NIST's
own schema (read in place from ../shared/data); its totals are the read model's official
result with the forms' sum beside them; every reference names an object of the document;
and it names the tree size and checkpoint it is true at."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyproof.domain.consolidation import ContestView
from tallyproof.export.nist_cdf import (
    FORMS_SUM,
    election_report,
    election_report_json,
    report_status,
)
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.note import Checkpoint
from tallyproof.sample.generator import build_sample
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.conftest import shared_data
from tests.helpers import CANDIDATES, ELECTION, ElectionFixture, cli, form_doc, make_election

SAMPLE = ("pk-ge-2024", "kp-lg-2021-phase1")
SCHEMA = "NIST_V2_election_results_reporting.json"
REFERENCES = {
    "ElectionScopeId",
    "GpUnitId",
    "ElectionDistrictId",
    "PartyId",
    "CandidateIds",
    "ComposingGpUnitIds",
    "EndorsementPartyIds",
}


@pytest.fixture(scope="module")
def validator() -> Any:
    """NIST's schema with the draft it declares (draft-04), formats checked."""
    schema = json.loads((shared_data("nist-cdf-results") / SCHEMA).read_text("utf-8"))
    kind = jsonschema.validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema, format_checker=kind.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReadModel, Any]]:
    writer = LedgerWriter.initialise(Settings.at(tmp_path_factory.mktemp("sample")))
    run_plan(writer, build_sample())
    model = ReadModel.open(writer.settings)
    yield model, writer.log_key
    model.close()
    writer.close()


def assert_valid(validator: Any, document: dict[str, Any]) -> None:
    problems = [
        f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(document)
    ]
    assert problems == []


def objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every object of a document, depth first."""
    if isinstance(value, dict):
        yield value
        for member in value.values():
            yield from objects(member)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["@id"]: o for o in objects(document) if "@id" in o}


def identifiers(thing: dict[str, Any]) -> dict[str, str]:
    return {i["OtherType"]: i["Value"] for i in thing.get("ExternalIdentifier", [])}


def counts(selection: dict[str, Any], unit: str, other: str | None = None) -> list[int | float]:
    return [
        c["Count"]
        for c in selection.get("VoteCounts", [])
        if c["GpUnitId"] == unit and c.get("OtherType") == other
    ]


def ballots(document: dict[str, Any], unit: str, other: str | None = None) -> list[tuple]:
    return [
        (b["BallotsCast"], b["BallotsRejected"])
        for b in document["Election"][0].get("BallotCounts", [])
        if b["GpUnitId"] == unit and b.get("OtherType") == other
    ]


def assert_counts_are_the_results(document: dict[str, Any], views: list[ContestView]) -> None:
    """`total` at each district is the official result, FORMS_SUM the forms' sum, and each
    station's `total` a station's current official form, summing to the forms' sum."""
    objs = by_id(document)
    for view in views:
        code, official, computed = view.official.contest, view.official, view.computed
        district = f"district:{code}"
        contest = objs[f"contest:{code}"]
        assert identifiers(contest)["tallyproof-basis"] == official.basis.value
        stations = [u for u in objs if u.startswith("station:") and u.endswith(f"@{code}")]
        for selection in contest["ContestSelection"]:
            candidate = selection["CandidateIds"][0].removeprefix("candidate:")
            reported = official.basis.value != "none"
            assert counts(selection, district) == ([official.votes[candidate]] if reported else [])
            forms = counts(selection, district, FORMS_SUM)
            assert forms == ([computed.votes[candidate]] if computed.stations_reported else [])
            if stations:
                assert sum(n for u in stations for n in counts(selection, u)) == sum(forms)
        if official.basis.value != "none":
            assert ballots(document, district) == [(official.polled, official.rejected)]
        if computed.stations_reported:
            assert ballots(document, district, FORMS_SUM) == [(computed.polled, computed.rejected)]


@pytest.mark.parametrize("stations", [False, True])
@pytest.mark.parametrize("election", SAMPLE)
def test_the_sample_elections_validate_and_carry_the_official_results(
    sample, validator, election, stations
):
    model, _ = sample
    answer = election_report(model, election, stations=stations)
    assert_valid(validator, answer.value)
    assert answer.value["Format"] == ("precinct-level" if stations else "summary-contest")
    assert_counts_are_the_results(answer.value, model.results(election, answer.tree_size).value)


def test_every_reference_names_an_object_and_every_id_is_unique(sample):
    model, _ = sample
    document = election_report(model, "pk-ge-2024", stations=True).value
    ids = [o["@id"] for o in objects(document) if "@id" in o]
    assert len(ids) == len(set(ids))
    named = []
    for o in objects(document):
        for key in REFERENCES & o.keys():
            named += o[key] if isinstance(o[key], list) else [o[key]]
    assert named and set(named) <= set(ids)
    units = {u["@id"] for u in document["GpUnit"]}
    assert {c["GpUnitId"] for o in objects(document) for c in o.get("VoteCounts", [])} <= units


def test_it_names_its_tree_size_and_checkpoint_and_is_the_same_bytes_each_time(sample):
    model, log_key = sample
    answer = election_report_json(model, "pk-ge-2024", stations=True)
    chunks = list(answer.value)
    assert len(chunks) > 1  # written in pieces, not held whole
    document = json.loads(b"".join(chunks))
    said = identifiers(document)
    assert said["tallyproof-tree-size"] == str(answer.tree_size)
    assert said["tallyproof-checkpoint"] == answer.checkpoint
    assert Checkpoint.open(said["tallyproof-checkpoint"], log_key).size == answer.tree_size
    again = election_report_json(model, "pk-ge-2024", answer.tree_size, stations=True)
    assert b"".join(again.value) == b"".join(chunks)


def test_an_independent_is_endorsed_by_the_party_that_backed_them(sample):
    model, _ = sample
    objs = by_id(election_report(model, "pk-ge-2024").value)
    bari = objs["candidate:PS-129/saif-bari"]
    assert "PartyId" not in bari
    assert objs["selection:PS-129/saif-bari"]["EndorsementPartyIds"] == ["party:PTI"]
    assert objs["candidate:PS-129/hafiz-naeem"]["PartyId"] == "party:JI"


def declared_postponed_and_corrected(e: ElectionFixture) -> dict[str, int]:
    """NA-1: four stations, one count corrected and an agent's copy; a declaration giving
    the forms' runner-up the seat. PP-1: postponed before any form."""
    first = e.submit_one(form_doc(station="S1", votes=(300, 200, 100)))
    fix = {"supersedes": first.entry_id, "reason": "correction"}
    assert e.submit_one(form_doc(station="S1", votes=(310, 200, 100), **fix)).accepted
    outcomes = e.submit(*(form_doc(station=f"S{i}", votes=(250, 150, 50)) for i in (2, 3, 4)))
    assert all(o.accepted for o in outcomes)
    assert e.submit_one(
        form_doc(station="S2", votes=(9, 9, 9), source="agent:PTI"), key=e.agent
    ).accepted
    assert e.order("contest", "PP-1", "postponed", "a candidate died").accepted
    declared = {"NA-1/a": 500, "NA-1/b": 900, "NA-1/c": 350}
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    body |= {"votes": declared, "rejected": 40, "time": "2024-02-09T10:00:00Z"}
    assert e.declare(body).accepted
    return declared


def test_a_postponed_contest_and_a_declared_result_that_differs(tmp_path, store_url, validator):
    e = make_election(tmp_path / "h", store_url)
    declared = declared_postponed_and_corrected(e)
    model = ReadModel.open(e.ctx.settings)
    for stations in (False, True):
        answer = election_report(model, ELECTION, stations=stations)
        assert_valid(validator, answer.value)
        assert_counts_are_the_results(answer.value, model.results(ELECTION).value)
    document = answer.value
    objs = by_id(document)
    na, pp = objs["contest:NA-1"], objs["contest:PP-1"]
    assert {s["@id"]: counts(s, "district:NA-1") for s in na["ContestSelection"]} == {
        f"selection:{k}": [n] for k, n in declared.items()
    }
    assert counts(objs["selection:NA-1/a"], "district:NA-1", FORMS_SUM) == [310 + 3 * 250]
    assert counts(objs["selection:NA-1/a"], "station:S1@NA-1") == [310]  # the correction
    assert ballots(document, "district:NA-1") == [(sum(declared.values()) + 40, 40)]
    assert identifiers(na)["tallyproof-winner-differs"] == "true"
    assert identifiers(na)["tallyproof-declaration"]
    assert identifiers(pp)["tallyproof-status"] == "postponed"
    assert identifiers(pp)["tallyproof-status-reason"] == "a candidate died"
    assert pp["CountStatus"][0]["Status"] == "not-processed"
    assert not any(s.get("VoteCounts") for s in pp["ContestSelection"])
    assert ballots(document, "district:PP-1") == []
    assert document["Status"] == "unofficial-complete"
    assert objs["candidate:NA-1/b"]["PostElectionStatus"] == "projected-winner"
    before = answer.tree_size
    assert e.order("contest", "NA-1", "final").accepted
    final = election_report(model, ELECTION).value
    assert final["Status"] == "certified"
    objs = by_id(final)
    assert [objs[f"candidate:{k}"].get("PostElectionStatus") for k in CANDIDATES] == [
        "defeated",
        "winner",
        "defeated",
    ]
    earlier = election_report(model, ELECTION, before).value
    assert identifiers(earlier)["tallyproof-tree-size"] == str(before)
    assert earlier["Status"] == "unofficial-complete"
    model.close()
    e.ctx.close()


statuses = st.sampled_from(["counting", "provisional", "final", "postponed", "suspended"])
plans = st.tuples(
    st.lists(st.tuples(*(st.integers(0, 250) for _ in CANDIDATES)), max_size=4),
    st.one_of(st.none(), st.tuples(*(st.integers(1, 5000) for _ in CANDIDATES))),
    st.one_of(st.none(), statuses),
)


@given(plans)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_night_validates_and_carries_the_official_result(validator, plan):
    """Any stations reported, a declaration or none, any ordered status: the document
    validates, and its counts and status are the read model's."""
    forms, declared, status = plan
    with tempfile.TemporaryDirectory() as home:
        e = make_election(Path(home))
        for i, votes in enumerate(forms, start=1):
            assert e.submit_one(form_doc(station=f"S{i}", votes=votes)).accepted
        if declared is not None:
            body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
            votes = dict(zip(CANDIDATES, declared, strict=True))
            assert e.declare(body | {"votes": votes, "time": "2024-02-09T10:00:00Z"}).accepted
        if status is not None:  # a step back (e.g. counting once provisional) is refused
            ordered = e.order("contest", "NA-1", status, "ordered")
            assert ordered.accepted or [p.code for p in ordered.problems] == [
                "status.illegal_transition"
            ]
        model = ReadModel.open(e.ctx.settings)
        try:
            answer = election_report(model, ELECTION, stations=True)
            views = model.results(ELECTION, answer.tree_size).value
            assert_valid(validator, answer.value)
            assert_counts_are_the_results(answer.value, views)
            assert answer.value["Status"] == report_status(views)
        finally:
            model.close()
            e.ctx.close()


def test_the_command_writes_a_valid_document_and_names_the_tree_size(tmp_path, validator):
    home = tmp_path / "h"
    e = make_election(home)
    declared_postponed_and_corrected(e)
    size = e.ctx.state.size
    e.ctx.close()
    target = tmp_path / "report.json"
    done = cli(home, "export", "cdf", "--stations", "--out", str(target))
    assert f"tree size {size}" in done.stderr and not (tmp_path / "report.json.part").exists()
    document = json.loads(target.read_text("utf-8"))
    assert_valid(validator, document)
    assert identifiers(document)["tallyproof-tree-size"] == str(size)
    done = cli(home, "export", "cdf")
    assert json.loads(done.stdout)["Format"] == "summary-contest"
