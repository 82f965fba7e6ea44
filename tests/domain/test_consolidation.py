"""Consolidation and contest results, with Hypothesis properties over submission order."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.domain.consolidation import (
    FormRecord,
    ResultBasis,
    consolidate,
    contest_result,
    latest_forms,
    official_heads,
)
from tallyproof.domain.forms import parse_form
from tallyproof.domain.status import ContestStatus, effective_contest_status
from tallyproof.domain.structure import parse_structure
from tests.helpers import form_doc, structure_doc

STRUCTURE = parse_structure(structure_doc(stations=6))
CONTEST = STRUCTURE.contest("NA-1")
counts = st.tuples(*(st.integers(0, 300) for _ in range(3)))
chains = st.lists(st.lists(counts, min_size=1, max_size=4), min_size=0, max_size=6)


def build_records(chain_votes: list[list[tuple[int, int, int]]]) -> list[FormRecord]:
    """Station i gets a chain of forms, each superseding the one before."""
    records, seq = [], 0
    for i, chain in enumerate(chain_votes):
        previous = None
        for votes in chain:
            extra = {"supersedes": previous, "reason": "correction"} if previous else {}
            form = parse_form(form_doc(station=f"S{i + 1}", votes=votes, rejected=1, **extra))
            form_id = f"{i}-{seq}"
            records.append(FormRecord(form_id, seq, form))
            previous, seq = form_id, seq + 1
    return records


@given(chains, st.randoms(use_true_random=False))
@settings(max_examples=150)
def test_consolidation_is_the_sum_of_the_latest_forms_in_any_order(chain_votes, rnd: random.Random):
    records = build_records(chain_votes)
    rnd.shuffle(records)
    heads = official_heads(records, "NA-1")
    total = consolidate(STRUCTURE, CONTEST, heads)
    expected = [sum(chain[-1][k] for chain in chain_votes) for k in range(3)]
    assert [total.votes[c] for c in CONTEST.candidate_ids] == expected
    assert total.stations_reported == len(chain_votes)
    assert total.polled == sum(expected) + len(chain_votes)
    assert total.registered_reported == 1000 * len(chain_votes)


@given(chains.filter(bool), counts)
def test_superseding_changes_the_total_by_exactly_the_difference(chain_votes, new_votes):
    records = build_records(chain_votes)
    before = consolidate(STRUCTURE, CONTEST, official_heads(records, "NA-1"))
    head = latest_forms(records)[("S1", "NA-1", "official")]
    fix = parse_form(
        form_doc(
            station="S1", votes=new_votes, rejected=1, supersedes=head.form_id, reason="correction"
        )
    )
    after = consolidate(
        STRUCTURE, CONTEST, official_heads([*records, FormRecord("fix", 999, fix)], "NA-1")
    )
    for k, cid in enumerate(CONTEST.candidate_ids):
        assert after.votes[cid] - before.votes[cid] == new_votes[k] - head.form.votes[cid]
    assert after.stations_reported == before.stations_reported


def test_agent_copies_do_not_count_toward_the_consolidation():
    records = build_records([[(10, 20, 30)]])
    agent = parse_form(form_doc(station="S1", votes=(99, 99, 99), source="agent:PTI"))
    records.append(FormRecord("agent", 50, agent))
    assert consolidate(STRUCTURE, CONTEST, official_heads(records, "NA-1")).votes["NA-1/a"] == 10


def result_of(votes_by_station, ordered=ContestStatus.SCHEDULED):
    heads = official_heads(build_records([[v] for v in votes_by_station]), "NA-1")
    return contest_result(
        CONTEST, consolidate(STRUCTURE, CONTEST, heads), ResultBasis.STATIONS, ordered
    )


def test_winner_runner_up_margin_and_turnout():
    r = result_of([(300, 200, 100)] * 6)
    assert r.status is ContestStatus.PROVISIONAL
    assert (r.winner.name, r.runner_up.name, r.margin) == ("Aamir", "Bushra", 600)
    assert r.turnout == (601 * 6) / 6000


def test_while_counting_there_is_a_leader_but_no_winner():
    r = result_of([(100, 300, 0)] * 2)
    assert r.status is ContestStatus.COUNTING
    assert r.winner is None and r.leader.name == "Bushra"
    assert (r.stations_reported, r.stations_total) == (2, 6)


def test_a_tie_has_no_leader():
    r = result_of([(200, 200, 1)] * 6)
    assert r.tied and r.leader is None and r.winner is None and r.margin == 0


def test_ordered_status_stands_over_reporting():
    assert effective_contest_status(ContestStatus.POSTPONED, 3, 6) is ContestStatus.POSTPONED
    assert effective_contest_status(ContestStatus.FINAL, 6, 6) is ContestStatus.FINAL
    assert effective_contest_status(ContestStatus.POLLING, 0, 6) is ContestStatus.POLLING
    assert effective_contest_status(ContestStatus.POLLING, 1, 6) is ContestStatus.COUNTING
