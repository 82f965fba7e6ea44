"""Events (docs/rules.md, "Events"): each type accepted, and refused on each of its rules
with its code; the complaint's state machine; a renunciation vacating the contest for every
reader of status; the joinings read back as of a tree size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import events
from tallyproof.service.outcomes import Outcome
from tallyproof.service.reading import ReadModel
from tallyproof.store.database import Store
from tests.helpers import ELECTION, ElectionFixture, form_doc, make_election

DECLARED = {"NA-1/a": 1200, "NA-1/b": 800, "NA-1/c": 400}


@pytest.fixture
def election(tmp_path: Path) -> ElectionFixture:
    return make_election(tmp_path / "home")


def event(kind: str, contest: str = "NA-1", **fields: Any) -> dict[str, Any]:
    return {
        "election": ELECTION,
        "type": kind,
        "contest": contest,
        "time": "2024-02-10T12:00:00+05:00",
        **fields,
    }


def submit(e: ElectionFixture, body: dict[str, Any], key: Signer | None = None) -> Outcome:
    envelope = sign(EntryKind.EVENT, body, key or e.admin).envelope()
    return events.submit_event(e.ctx, envelope)


def codes(outcome: Outcome) -> list[str]:
    return [p.code for p in outcome.problems]


def declare(e: ElectionFixture, votes: dict[str, int] = DECLARED) -> None:
    body = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": votes,
        "time": "2024-02-09T12:00:00+05:00",
    }
    assert e.declare(body).accepted


def form_ids(e: ElectionFixture) -> list[str]:
    outcomes = e.submit(form_doc("S1"), form_doc("S2"))
    assert all(o.accepted for o in outcomes)
    return [o.entry_id for o in outcomes if o.entry_id]


def test_concession_accepted_once(election: ElectionFixture) -> None:
    body = event("concession", candidate="NA-1/b", statement="I accept the result")
    assert submit(election, body).accepted
    again = event("concession", candidate="NA-1/b", time="2024-02-11T12:00:00+05:00")
    assert codes(submit(election, again)) == ["event.already_conceded"]


def test_the_same_event_twice_is_a_duplicate(election: ElectionFixture) -> None:
    body = event("concession", candidate="NA-1/b")
    first = submit(election, body)
    second = submit(election, body)
    assert second.duplicate and second.entry_id == first.entry_id


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"contest": "NA-9", "candidate": "NA-1/b"}, "event.unknown_contest"),
        ({"candidate": "PP-1/x"}, "event.unknown_candidate"),
        ({"candidate": "NA-1/b", "colour": "red"}, "schema.unknown_field"),
        ({"candidate": "NA-1/b", "time": "yesterday"}, "schema.timestamp"),
    ],
)
def test_bad_events_name_the_field_and_change_nothing(
    election: ElectionFixture, fields: dict[str, Any], code: str
) -> None:
    size = election.ctx.refresh().size
    body = event("concession", **fields)
    assert code in codes(submit(election, body))
    assert election.ctx.refresh().size == size


def test_admin_events_need_the_admin_key(election: ElectionFixture) -> None:
    body = event("concession", candidate="NA-1/b")
    assert codes(submit(election, body, election.agent)) == ["signature.not_admin"]


def test_renunciation_by_the_declared_winner_vacates_the_contest(
    election: ElectionFixture, tmp_path: Path
) -> None:
    assert codes(submit(election, event("renunciation", candidate="NA-1/a"))) == [
        "event.no_declared_winner"
    ]
    declare(election)
    assert codes(submit(election, event("renunciation", candidate="NA-1/b"))) == [
        "event.not_the_winner"
    ]
    said = "31,000 station votes became 11,000"
    assert submit(election, event("renunciation", candidate="NA-1/a", statement=said)).accepted
    status, reason = election.ctx.refresh().contest_status_of(ELECTION, "NA-1")
    assert (str(status), said in reason) == ("vacated", True)
    again = event("renunciation", candidate="NA-1/a", time="2024-02-12T12:00:00+05:00")
    assert codes(submit(election, again)) == ["event.already_vacated"]
    late = election.submit_one(form_doc("S4", votes=(9, 8, 7)))  # the seat is no longer polled
    assert [p.code for p in late.problems] == ["contest.vacated"]
    election.ctx.publish_checkpoint()
    model = ReadModel(Store(election.ctx.settings.database_url))
    view = model.contest(ELECTION, "NA-1").value
    assert str(view.official.status) == "vacated" and view.official.winner is None
    history = model.history(ELECTION, "NA-1").value
    assert [c.kind for c in history][-2:] == ["declaration", "event"]
    assert "renounced the seat" in history[-1].summary


def test_renunciation_without_declaration_needs_every_station(election: ElectionFixture) -> None:
    form_ids(election)  # two of four stations: counting, no winner yet
    assert codes(submit(election, event("renunciation", candidate="NA-1/a"))) == [
        "event.no_declared_winner"
    ]
    assert all(o.accepted for o in election.submit(form_doc("S3"), form_doc("S4")))
    assert codes(submit(election, event("renunciation", candidate="NA-1/c"))) == [
        "event.not_the_winner"
    ]
    assert submit(election, event("renunciation", candidate="NA-1/a")).accepted


def complaint(evidence: list[Any], **fields: Any) -> dict[str, Any]:
    said = {"source": "agent:PTI", "summary": "Form 45 totals changed in the consolidation"}
    return event("complaint", evidence=evidence, **(said | fields))


def test_complaint_cites_forms_in_the_log(election: ElectionFixture) -> None:
    ids = form_ids(election)
    seq = election.ctx.refresh().forms[ids[1]].seq
    assert submit(election, complaint([ids[0], seq]), election.agent).accepted
    missing = complaint(["f" * 64])
    assert codes(submit(election, missing, election.agent)) == ["event.unknown_evidence"]
    wrong_leaf = complaint([0])  # the structure's leaf, not a form
    assert codes(submit(election, wrong_leaf, election.agent)) == ["event.unknown_evidence"]
    assert "event.evidence_required" in codes(submit(election, complaint([]), election.agent))
    assert "schema.type" in codes(submit(election, complaint(["S1"]), election.agent))


def test_complaints_are_filed_only_within_the_keys_grant(election: ElectionFixture) -> None:
    ids = form_ids(election)
    observer = election.register("observer/NA", "observer:FAFEN", contests=["PP-1"])
    body = complaint([ids[0]], source="observer:FAFEN")
    assert codes(submit(election, body, observer)) == ["signature.out_of_scope"]
    assert codes(submit(election, complaint([ids[0]]), observer)) == ["signature.wrong_source"]
    agent_at_s1 = election.register("agent/S1", "agent:PML-N", stations=["S1"])
    filed = submit(election, complaint([ids[0]], source="agent:PML-N"), agent_at_s1)
    assert filed.accepted, filed.problems
    stranger = Signer.from_seed_text("stranger", "x")
    assert codes(submit(election, complaint([ids[1]]), stranger)) == ["signature.unknown_key"]
    petition = event("petition", source="agent:PTI", summary="set aside", evidence=[ids[1]])
    assert submit(election, petition, election.agent).accepted


def update(complaint_id: str, status: str, **fields: Any) -> dict[str, Any]:
    return event("complaint_update", complaint=complaint_id, status=status, **fields)


def test_complaint_state_machine(election: ElectionFixture, tmp_path: Path) -> None:
    ids = form_ids(election)
    filed = submit(election, complaint([ids[0]]), election.agent)
    cid = filed.entry_id
    assert cid is not None
    assert codes(submit(election, update(cid, "decided", outcome="upheld"))) == [
        "event.illegal_move"
    ]
    assert codes(submit(election, update(cid, "hearing"), election.agent)) == [
        "signature.not_admin"
    ]
    assert submit(election, update(cid, "hearing")).accepted
    assert codes(submit(election, update(cid, "decided"))) == ["schema.missing"]
    assert codes(submit(election, update(cid, "dismissed", outcome="x"))) == [
        "event.outcome_unexpected"
    ]
    decided = update(cid, "decided", outcome="recount ordered at S1")
    assert submit(election, decided).accepted
    later = update(cid, "withdrawn", time="2024-03-01T12:00:00+05:00")
    assert codes(submit(election, later)) == ["event.illegal_move"]
    assert codes(submit(election, update("a" * 64, "hearing"))) == ["event.unknown_complaint"]
    other = update(cid, "withdrawn", contest="PP-1")
    assert codes(submit(election, other)) == ["event.unknown_complaint"]
    election.ctx.publish_checkpoint()
    model = ReadModel(Store(election.ctx.settings.database_url))
    logged = model.events(ELECTION, "NA-1").value
    assert (logged[0].status, logged[0].outcome) == ("decided", "recount ordered at S1")


def test_joining_rules_and_reading_them_back(election: ElectionFixture) -> None:
    join = event("joining", candidate="NA-1/a", party="PTI", date="2024-02-19")
    assert codes(
        submit(election, event("joining", candidate="NA-1/b", party="PTI", date="2024-02-19"))
    ) == ["event.not_independent"]
    assert codes(submit(election, {**join, "party": "XYZ"})) == ["event.unknown_party"]
    assert codes(submit(election, {**join, "date": "19 Feb"})) == ["schema.date"]
    election.ctx.publish_checkpoint()
    before = election.ctx.refresh().size
    assert submit(election, join).accepted
    again = {**join, "party": "PML-N", "date": "2024-02-20"}
    assert codes(submit(election, again)) == ["event.already_joined"]
    election.ctx.publish_checkpoint()
    model = ReadModel(Store(election.ctx.settings.database_url))
    joined = events.joinings(model, ELECTION)
    assert joined == [events.Joining("NA-1/a", "NA-1", "PTI", "2024-02-19", before)]
    assert events.joinings(model, ELECTION, as_of=before) == []


def test_events_survive_a_reopened_writer(election: ElectionFixture, tmp_path: Path) -> None:
    """The rules consult the events table when another writer (or an earlier run) logged them."""
    from tallyproof.service.writer import LedgerWriter

    assert submit(
        election, event("joining", candidate="NA-1/c", party="PTI", date="2024-02-19")
    ).accepted
    settings = election.ctx.settings
    election.ctx.close()
    election.ctx = LedgerWriter.open(settings)
    again = event("joining", candidate="NA-1/c", party="PML-N", date="2024-02-21")
    assert codes(submit(election, again)) == ["event.already_joined"]
