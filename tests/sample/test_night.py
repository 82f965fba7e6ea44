"""The simulated night: a deterministic stream in time order, and, loaded into a real store
through the service layer, exactly the outcomes and findings its faults were meant to cause."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.importers.plan import Step, run_step
from tallyproof.sample.national import build_national
from tallyproof.sample.night import ROUTES, Faults, Night
from tallyproof.service import queries
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

# Faults raised well above the defaults so that 600 stations see each of them several times.
FAULTS = Faults(
    declaration_mismatch=0.05,
    declaration_flip=0.03,
    agent_conflict=0.3,
    duplicate=0.03,
    forged=0.01,
    wrong_station=0.01,
    correction=0.02,
    re_poll=0.01,
    stuffed=0.01,
    media_reports=0.2,
    misreport=0.3,
)
ACTIONS = {"structure": "structure", "key_registration": "register_keys", "status": "status",
           "form": "forms", "declaration": "declarations", "claim": "claims"}  # fmt: skip


def night(seed: int = 5, faults: Faults = FAULTS) -> Night:
    return Night(build_national(seed=seed, stations=600), faults)


@pytest.fixture(scope="module")
def events():
    return list(night().events())


@pytest.fixture(scope="module")
def loaded(events, tmp_path_factory):
    """The night through the ordinary use cases, in batches of one kind as it arrives: each
    event with its outcome, and the store's findings at the end."""
    writer = LedgerWriter.initialise(Settings.at(tmp_path_factory.mktemp("night")))
    outcomes = []
    batch: list = []

    def flush() -> None:
        if batch:
            step = Step(ACTIONS[batch[0].kind], batch[0].story, [e.envelope for e in batch])
            outcomes.extend(zip(batch, run_step(writer, step), strict=True))
            batch.clear()

    for event in events:
        if batch and (batch[0].kind != event.kind or len(batch) == 2000):
            flush()
        batch.append(event)
    flush()
    yield outcomes, queries.findings(writer, events[0].envelope["structure"]["election"]["id"])
    writer.close()


def got(outcome) -> tuple[str, str | None]:
    if outcome.duplicate:
        return "duplicate", None
    return ("accepted", None) if outcome.accepted else ("refused", outcome.problems[0].code)


def test_every_document_does_what_it_was_meant_to(loaded):
    outcomes, _ = loaded
    wrong = [
        (e.seq, e.story, e.expect.outcome, e.expect.code, got(o))
        for e, o in outcomes
        if got(o) != (e.expect.outcome, e.expect.code)
    ]
    assert wrong == []
    stories = Counter((e.story, got(o)) for e, o in outcomes)
    assert stories[("forged", ("refused", "signature.invalid"))] >= 5
    assert stories[("wrong_station", ("refused", "signature.out_of_scope"))] >= 5
    assert stories[("duplicate", ("duplicate", None))] >= 10
    for story in ("correction", "re_poll_form", "suspend", "re_poll_order", "agent_copy",
                  "observer_copy", "declaration", "report", "postponed"):  # fmt: skip
        assert stories[(story, ("accepted", None))] > 0, story


CHECKS = {"contest.rejected_exceed_margin", "station.na_pa_polled_differ"}


def test_the_faults_leave_exactly_the_findings_they_should(loaded, events):
    _, findings = loaded
    expected = Counter(
        (f.code, f.contest, f.station, f.candidate) for e in events for f in e.expect.findings
    )
    # the Pakistan checks (domain/checks.py) are left out: the simulator draws a station's NA
    # and PA counts apart, and its margins without regard to rejected votes, so it has no
    # expectation of them
    found = Counter(
        (f.code, f.contest, f.station, f.candidate) for f in findings if f.code not in CHECKS
    )
    assert found == expected
    codes = Counter(code for code, *_ in expected)
    assert codes["consolidation.winner_differs"] >= 5
    assert codes["consolidation.mismatch"] > codes["consolidation.winner_differs"]
    assert codes["station.source_conflict"] >= 5
    assert codes["claim.contradicts_official"] >= 5
    flipped = [f for f in findings if f.code == "consolidation.winner_differs"]
    assert all(f.severity.value == "critical" and f.evidence["stations"] for f in flipped)


def test_stuffed_stations_are_accepted_and_look_stuffed(loaded):
    outcomes, _ = loaded
    stuffed = [e for e, o in outcomes if e.expect.note.startswith("stuffed") and o.accepted]
    assert stuffed
    for event in stuffed:
        form = event.envelope["form"]
        assert max(form["votes"].values()) >= 0.95 * form["valid"]
        assert form["polled"] == form["valid"] + form["rejected"]


def test_the_set_up_comes_first_then_the_night_in_time_order(events):
    kinds = [e.kind for e in events]
    assert kinds[0] == "structure"
    keys = kinds.count("key_registration")
    assert set(kinds[1 : 1 + keys]) == {"key_registration"}
    sources = Counter(
        e.envelope["key_registration"]["source"].split(":")[0] for e in events[1 : 1 + keys]
    )
    assert sources["presiding_officer"] == 600 and sources["returning_officer"] == 859
    assert sources["agent"] > 0 and sources["observer"] == 1 and sources["media"] >= 2
    assert [e.story for e in events[1 + keys : 1 + keys + 4]] == ["postponed"] * 4
    minutes = [e.minutes for e in events]
    assert minutes == sorted(minutes)
    assert [e.seq for e in events] == list(range(len(events)))
    assert all(e.route == ROUTES[e.kind] for e in events)


def test_nothing_arrives_during_the_outage_and_the_held_forms_flush_at_its_end(events):
    start = FAULTS.outage_start
    end = start + FAULTS.outage_minutes
    assert not [e for e in events if start <= e.minutes < end]
    flushed = [e for e in events if e.minutes == end]
    assert len(flushed) > 20
    assert all(e.envelope[e.kind]["time"] < e.time for e in flushed if e.kind == "form")


def test_most_forms_come_within_hours_and_a_tail_into_the_next_day(events):
    forms = [e.minutes for e in events if e.story == "form"]
    within_six_hours = sum(1 for m in forms if m <= 6 * 60) / len(forms)
    assert 0.6 < within_six_hours < 0.95
    assert max(forms) > 12 * 60  # the next morning and later


def test_declarations_come_after_every_official_form_of_their_contest(events):
    reported: set[str] = set()
    declared: set[str] = set()
    for e in events:
        if e.kind == "form" and e.story in ("form", "correction", "re_poll_form"):
            assert e.envelope["form"]["contest"] not in declared, e
            reported.add(e.envelope["form"]["contest"])
        if e.kind == "declaration":
            assert e.envelope["declaration"]["contest"] in reported
            declared.add(e.envelope["declaration"]["contest"])
    assert len(declared) == 859 - 4


def test_the_same_seed_gives_the_same_bytes(events):
    again = [orjson.dumps(e.as_dict()) for e in night(seed=5).events()]
    assert again == [orjson.dumps(e.as_dict()) for e in events]
    other = [orjson.dumps(e.as_dict()) for e in islice(night(seed=6).events(), 50)]
    assert other != again[:50]


def test_it_streams_the_set_up_before_signing_the_night():
    stream = night(seed=9).events()
    first = next(stream)
    assert first.kind == "structure" and first.envelope["signature"]["key"]


@settings(max_examples=5)  # a night's schedule a seed: a fraction of a second each
@given(seed=st.integers(0, 2**32 - 1))
def test_every_official_count_accounts_for_its_ballots_whatever_the_seed(seed):
    """First forms, corrections, re-polls and stuffed stations alike: the candidates' votes
    and the rejected ballots make up the ballots polled, never more than the roll."""
    n = night(seed=seed, faults=Faults(correction=0.05, re_poll=0.05, stuffed=0.05))
    for station in n.election.stations:
        for contest in n.live[station.id]:
            for count in (n.first_count(station.id, contest), n.final_count(station.id, contest)):
                assert sum(count.votes.values()) + count.rejected == count.polled
                assert count.polled <= station.registered
