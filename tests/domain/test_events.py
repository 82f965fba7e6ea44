"""Events in the domain: parsing names each bad field, and the complaint's state machine
keeps its invariant whatever moves are asked of it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyproof.domain.events import (
    COMPLAINT_MOVES,
    EventFacts,
    check_event,
    parse_event,
    winner_of,
)
from tallyproof.domain.problems import Rejected
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import parse_structure
from tests.helpers import ELECTION, structure_doc

STRUCTURE = parse_structure(structure_doc())
CID = "c" * 64


def body(kind: str, **fields: Any) -> dict[str, Any]:
    base = {"election": ELECTION, "type": kind, "contest": "NA-1"}
    return base | {"time": "2024-02-10T12:00:00+05:00"} | fields


def facts(current: str) -> EventFacts:
    complaint = ("complaint", "NA-1", current)
    return EventFacts(ContestStatus.PROVISIONAL, None, frozenset(), frozenset(), complaint, ())


@pytest.mark.parametrize(
    ("doc", "code", "field"),
    [
        (body("vote"), "schema.choice", "type"),
        (body("concession"), "schema.missing", "candidate"),
        (body("joining", candidate="NA-1/a", party="PTI"), "schema.missing", "date"),
        (body("complaint", source="agent:PTI", summary="s"), "schema.missing", "evidence"),
        (
            body("complaint", source="agent:PTI", summary="s", evidence=[-1]),
            "schema.type",
            "evidence[0]",
        ),
        (
            body("complaint", source="agent:PTI", summary="s", evidence=[1], status="decided"),
            "event.illegal_move",
            "status",
        ),
        (body("complaint_update", complaint="x", status="hearing"), "schema.type", "complaint"),
        (body("complaint_update", complaint=CID, status="filed"), "schema.choice", "status"),
        (
            {**body("concession", candidate="NA-1/a"), "election": "other"},
            "form.unknown_election",
            "election",
        ),
    ],
)
def test_a_bad_event_names_its_field(doc: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(Rejected) as refused:
        parse_event(doc, STRUCTURE)
    assert (code, field) in {(p.code, p.field) for p in refused.value.problems}


@given(st.lists(st.sampled_from(["hearing", "decided", "dismissed", "withdrawn"]), max_size=8))
def test_the_complaint_state_machine(moves: list[str]) -> None:
    """Whatever is asked: accepted moves follow the table from `filed`, a final state takes
    no move, and a complaint is decided at most once and only after a hearing."""
    current, path = "filed", ["filed"]
    for status in moves:
        outcome = {"outcome": "upheld"} if status == "decided" else {}
        event = parse_event(
            body("complaint_update", complaint=CID, status=status, **outcome), STRUCTURE
        )
        problems = check_event(event, STRUCTURE, facts(current))
        assert (not problems) == (status in COMPLAINT_MOVES[current])
        if not problems:
            current = status
            path.append(status)
    assert path.count("decided") <= 1
    assert "decided" not in path or path[path.index("decided") - 1] == "hearing"
    assert all(COMPLAINT_MOVES[s] for s in path[:-1])  # nothing moved out of a final state


def test_winner_of_needs_votes_and_no_tie() -> None:
    assert winner_of({"a": 3, "b": 2}) == "a"
    assert winner_of({"a": 2, "b": 2}) is None
    assert winner_of({"a": 0}) is None
