"""Election structure documents: parsing, the rules, and the exact round trip."""

from __future__ import annotations

import pytest

from tallyproof.domain.problems import Rejected
from tallyproof.domain.structure import ElectionKind, logged_structure, parse_structure
from tallyproof.sample.generator import build_sample
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_structure
from tests.helpers import structure_doc


def problems_of(doc: dict) -> set[tuple[str, str]]:
    with pytest.raises(Rejected) as caught:
        parse_structure(doc)
    return {(p.code, p.field) for p in caught.value.problems}


def test_parse_and_look_up():
    s = parse_structure(structure_doc())
    assert s.election.kind is ElectionKind.GENERAL
    assert s.contest("NA-1").candidate_ids == ("NA-1/a", "NA-1/b", "NA-1/c")
    assert s.stations_of("PP-1") == ("S1", "S2", "S3", "S4")
    assert s.registered_voters("NA-1") == 4000
    contest, candidate = s.candidate("NA-1/a")
    assert (
        contest.code == "NA-1"
        and candidate.independent
        and candidate.affiliation == "IND (PTI-backed)"
    )


def test_document_round_trips_exactly():
    doc = structure_doc("key")
    doc["election"]["phase"] = 2
    assert parse_structure(doc).document() == doc


def test_duplicates_are_refused():
    doc = structure_doc()
    doc["stations"].append(dict(doc["stations"][0]))
    doc["contests"][1]["candidates"][0]["id"] = "NA-1/a"
    assert problems_of(doc) >= {
        ("structure.duplicate", "stations[4].id"),
        ("structure.duplicate", "contests[1].candidates[0].id"),
    }


def test_references_must_exist():
    doc = structure_doc()
    doc["contests"][0]["candidates"][1]["party"] = "XYZ"
    doc["contests"][0]["assembly"] = "PB"
    doc["stations"][0]["contests"].append("NA-404")
    assert problems_of(doc) >= {
        ("structure.unknown_party", "contests[0].candidates[1].party"),
        ("structure.unknown_assembly", "contests[0].assembly"),
        ("structure.unknown_contest", "stations[0].contests[2]"),
    }


def test_only_independents_are_backed_or_join():
    doc = structure_doc()
    doc["contests"][0]["candidates"][1]["backed_by"] = "PTI"
    assert (
        "structure.backing_needs_independent",
        "contests[0].candidates[1].backed_by",
    ) in problems_of(doc)


def test_kind_and_registered_voters_are_checked():
    doc = structure_doc()
    doc["election"]["kind"] = "referendum"
    doc["stations"][1]["registered_voters"] = -3
    assert problems_of(doc) >= {
        ("schema.choice", "election.kind"),
        ("votes.negative", "stations[1].registered_voters"),
    }


def logged_documents() -> list[dict]:
    """Structures of every shape the repository makes: the test one, each sample election
    (parties, backing, joining, phases, regions) and a synthetic national one in small."""
    docs = [structure_doc(), structure_doc(admin_key="ed25519:" + "A" * 43 + "=")]
    for step in build_sample().steps:
        if step.action == "structure":
            docs += [e["structure"] for e in step.envelopes]
    docs.append(synthetic_structure(SyntheticSpec(stations=300), "ed25519:key"))
    return docs


@pytest.mark.parametrize("doc", logged_documents(), ids=lambda d: d["election"]["id"])
def test_a_logged_structure_reads_back_as_it_was_parsed(doc):
    """The read side trusts what the log accepted and skips the checks; what it builds must
    be what parse_structure built, indexes included."""
    parsed, logged = parse_structure(doc), logged_structure(doc)
    assert logged == parsed
    for contest in parsed.contests:
        assert logged.stations_of(contest.code) == parsed.stations_of(contest.code)
        assert logged.registered_voters(contest.code) == parsed.registered_voters(contest.code)
    assert logged.document() == parsed.document()
