"""The live feed's memory: each contest's timeline keeps a station's forms packed, not as
the parsed rows and records of which a night's worth grew a serving worker by a gigabyte,
and it tells the same story from them: the same findings, opened and resolved by the same
leaves, as the forms themselves give."""

from __future__ import annotations

import gc
import json
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from tallyproof.domain.consolidation import FormRecord, latest_forms
from tallyproof.domain.findings import Finding
from tallyproof.domain.reconciliation import reconcile_station
from tallyproof.domain.structure import logged_structure
from tallyproof.domain.validation import copy_findings
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, queries
from tallyproof.service.feed import Feed, LeafEvent
from tallyproof.service.queries import form_record
from tallyproof.service.reading import Timeline
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import Store
from tallyproof.store.records import FormRow
from tests.helpers import ELECTION, ElectionFixture, counter_clock, structure_doc

STATIONS = 600  # each serving an NA seat of 12 candidates and a PP seat of 8
# What the feed holds on to a form of this night, findings and declarations included
# (tracemalloc): 1.7 KiB while its timelines kept each form as read (the votes parsed into a
# dict, a `FormRecord` and `ResultForm` around it, the running total's own copy), 0.65 KiB
# with the forms packed; 0.84 KiB once each NA contest also keeps its stations' PP ballots
# polled (the NA/PA check, domain/checks.py) and this night's findings of it; 0.92 once each
# observer's copy of the top five carries its `form.partial_copy` finding (the copy's findings
# are worked out from the copies kept, not kept beside them).
KIB_PER_FORM_BOUND = 1.0


def night_doc(admin_key: str) -> dict[str, Any]:
    doc = structure_doc(admin_key, stations=0)
    doc["contests"] = [
        {
            "code": f"{assembly}-{n}",
            "assembly": assembly,
            "name": f"{assembly} seat {n}",
            "candidates": [
                {"id": f"{assembly}-{n}/k{j:02d}", "name": f"Candidate {j}"}
                | ({"party": ("PTI", "PML-N")[j]} if j < 2 else {})
                for j in range(candidates)
            ],
        }
        for assembly, candidates in (("NA", 12), ("PP", 8))
        for n in (1, 2, 3)
    ]
    doc["stations"] = [
        {
            "id": f"S{i:03d}",
            "name": f"Station {i}",
            "contests": [f"NA-{i % 3 + 1}", f"PP-{i % 3 + 1}"],
            "registered_voters": 3000,
        }
        for i in range(STATIONS)
    ]
    return doc


def form(station: str, contest: str, votes: dict[str, int], source: str, **more: Any) -> dict:
    rejected = 9
    return {
        "election": ELECTION,
        "station": station,
        "contest": contest,
        "source": source,
        "votes": votes,
        "rejected": rejected,
        "polled": sum(votes.values()) + rejected,
        "time": "2024-02-08T18:00:00+05:00",
        **more,
    }


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElectionFixture]:
    """A night as the feed's tests make one, through the use cases: every station's two
    forms; the NA declarations with their station breakdowns (one cut at two stations, one
    with a partial line);
    party agents' copies of a third of the NA forms, a tenth disagreeing, and observers'
    partial copies; then corrections that settle half the disagreements, and move the
    declared seats' totals off the declarations."""
    home = tmp_path_factory.mktemp("night")
    ctx = LedgerWriter.initialise(Settings.at(home), clock=counter_clock())
    admin_key = Signer.from_seed_text("test/admin", "test:admin")
    doc = night_doc(admin_key.public.b64)
    imported = admin.import_structure(ctx, sign(EntryKind.STRUCTURE, doc, admin_key).envelope())
    assert imported.accepted, imported.problems
    e = ElectionFixture(ctx, admin_key)
    structure = logged_structure(doc)
    po = e.register("po", "presiding_officer", stations=[s.id for s in structure.stations])
    agent = e.register("agent", "agent:PTI")
    observer = e.register("observer", "observer:FAFEN")
    e.ro = e.register("ro", "returning_officer", contests=["NA-1", "NA-2", "NA-3"])
    rng = random.Random(2024)
    official, agents, observers = [], [], []
    for n, station in enumerate(structure.stations):
        na_valid = 0
        for code in station.contests:
            contest = structure.contest(code)
            assert contest is not None
            votes = {c: rng.randrange(0, 120) for c in contest.candidate_ids}
            if code.startswith("PP"):  # every voter casts both ballots: PP's count near NA's,
                first = contest.candidate_ids[0]  # but 40 short at one station in fifty
                short = 40 if n % 50 == 0 else rng.randrange(0, 4)
                votes[first] = max(0, votes[first] + na_valid - short - sum(votes.values()))
            else:
                na_valid = sum(votes.values())
            official.append(form(station.id, code, votes, "presiding_officer"))
            if code.startswith("NA") and rng.random() < 0.3:
                copy = dict(votes)
                if rng.random() < 0.1:
                    copy[contest.candidate_ids[rng.randrange(12)]] += 7
                agents.append(form(station.id, code, copy, "agent:PTI"))
            if rng.random() < 0.1:
                partial = dict(list(votes.items())[:5])
                observers.append(form(station.id, code, partial, "observer:FAFEN"))
    logged = {}  # (station, contest) -> the official form's id and votes
    for outcome, sent in zip(e.submit(*official, key=po), official, strict=True):
        assert outcome.accepted, outcome.problems
        logged[(sent["station"], sent["contest"])] = (outcome.entry_id, sent["votes"])
    for code in ("NA-1", "NA-2", "NA-3"):
        stations = {f["station"]: f["votes"] for f in official if f["contest"] == code}
        first, second = list(stations)[:2]
        if code == "NA-1":  # Form 47 takes 5 votes off one candidate at two stations
            for sid in (first, second):
                stations[sid] = stations[sid] | {"NA-1/k03": stations[sid]["NA-1/k03"] - 5}
        totals = {c: sum(v[c] for v in stations.values()) for c in stations[first]}
        if code == "NA-2":  # a station's line naming only some candidates
            stations[first] = dict(list(stations[first].items())[:3])
        body = {"election": ELECTION, "contest": code, "source": "returning_officer"}
        body |= {"votes": totals, "stations": stations, "time": "2024-02-09T10:00:00Z"}
        assert e.declare(body).accepted
    assert all(o.accepted for o in e.submit(*agents, key=agent))
    assert all(o.accepted for o in e.submit(*observers, key=observer))
    disagreeing = [c for c in agents if c["votes"] != logged[(c["station"], c["contest"])][1]]
    fixes = [
        form(c["station"], c["contest"], c["votes"], "presiding_officer", reason="correction",
             supersedes=logged[(c["station"], c["contest"])][0])
        for c in disagreeing[::2]
    ]  # fmt: skip
    assert fixes and all(o.accepted for o in e.submit(*fixes, key=po))
    yield e
    ctx.close()


@pytest.fixture(scope="module")
def store(night: ElectionFixture) -> Iterator[Store]:
    opened = Store(night.ctx.settings.database_url)
    yield opened
    opened.close()


def run(feed: Feed) -> list[LeafEvent]:
    events: list[LeafEvent] = []
    while page := feed.advance(256):
        events += page
    return events


def dumped(findings: list[Finding]) -> list[str]:
    return sorted(json.dumps(f.as_dict(), sort_keys=True, default=str) for f in findings)


def test_the_feed_keeps_a_form_in_a_fraction_of_what_it_did(store):
    run(Feed(store))  # the store's statements compiled once, as in any running server
    feed = Feed(store)
    feed.advance(1)  # the structure, which any feed of the election keeps
    gc.collect()
    forms = 0
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        while events := feed.advance(256):  # sent on to the clients, not kept
            forms += sum(e.kind == "form" for e in events)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert forms > STATIONS * 2
    per_form = grown / forms / 1024
    assert per_form < KIB_PER_FORM_BOUND, f"the feed holds {per_form:.2f} KiB a form"


def test_the_feed_tells_the_story_the_forms_tell(night, store):
    """The findings the feed has open at the end, with their newest evidence, are those the
    writer's queries give from the forms read as records; and each leaf opened and resolved
    what a replay of its contest's history says it did."""
    feed = Feed(store)
    events = run(feed)
    timelines = feed._elections[ELECTION].timelines
    by_feed = [life.finding for t in timelines.values() for life in t.lives() if life.open]
    assert dumped(by_feed) == dumped(queries.findings(night.ctx, ELECTION))
    assert {f.code for f in by_feed} == {
        "station.source_conflict",
        "consolidation.mismatch",
        "form.partial_copy",  # the observers' copies of the top five (docs/rules.md)
        "station.na_pa_polled_differ",  # the stations whose PP count is 40 short
        "contest.rejected_exceed_margin",  # 9 rejected a station, against random margins
    }
    assert any(e.resolved for e in events)  # the corrections settle what they correct

    changes: dict[int, tuple[list[Any], list[Any]]] = {}
    with store.read() as reader:
        structure = next(iter(timelines.values())).structure
        for contest in structure.contests:
            history = Timeline.replay(reader, structure, contest, feed.size, keep_changes=True)
            for change in history.changes:
                opened, resolved = changes.setdefault(change.seq, ([], []))
                opened += [f.as_dict() for f in change.opened]
                resolved += [f.as_dict() for f in change.resolved]
    told = {
        e.seq: ([f.as_dict() for f in e.opened], [f.as_dict() for f in e.resolved])
        for e in events
        if e.opened or e.resolved
    }
    assert told == {seq: both for seq, both in changes.items() if both != ([], [])}


def test_a_kept_form_is_the_record_of_its_row(store):
    """What the timelines rebuild of each station's current form of every source is the
    record the store's row makes: nothing packed is lost."""
    feed = Feed(store)
    run(feed)
    with store.read() as reader:
        records = queries.form_records(reader, ELECTION)
    heads: dict[tuple[str, str], dict[str, FormRecord]] = {}
    for (station, contest, chain), record in latest_forms(records).items():
        heads.setdefault((contest, station), {})[chain] = record
    kept = {}
    for code, timeline in feed._elections[ELECTION].timelines.items():
        state = timeline.state
        for station in {*state.official, *state.others}:
            kept[(code, station)] = state.heads(station)
    assert kept == heads
    assert sum(len(h) > 1 for h in heads.values()) > 50  # stations with copies to compare


def form_row(form_id: str, seq: int, source: str, votes: dict[str, int], **more: Any) -> FormRow:
    official = source == "presiding_officer"
    supersedes, reason = more.get("supersedes"), more.get("reason")
    return FormRow(form_id, seq, ELECTION, "S1", "NA-1", source,
                   "official" if official else source, official, supersedes, reason, votes,
                   5, sum(votes.values()) + 5, None, "")  # fmt: skip


def test_copies_that_do_not_name_the_roster_are_kept_as_they_came():
    """An agent's partial copy, a copy naming someone off the roster, a form whose votes come
    in another order, an id that is no hash: each compared as its own record would be."""
    structure = logged_structure(structure_doc(stations=2))
    contest = structure.contest("NA-1")
    assert contest is not None
    rows = [
        form_row("a" * 64, 10, "presiding_officer", {"NA-1/a": 300, "NA-1/b": 200, "NA-1/c": 100}),
        form_row("b" * 64, 11, "agent:PTI", {"NA-1/a": 300, "NA-1/b": 250}),
        form_row("form-c", 12, "observer:FAFEN", {"NA-1/c": 90, "NA-1/b": 200, "NA-1/a": 300}),
        form_row("d" * 64, 13, "agent:PML-N", {"NA-1/a": 300, "NA-1/zz": 7}),
        form_row("e" * 64, 14, "presiding_officer", {"NA-1/c": 101, "NA-1/b": 200, "NA-1/a": 299},
                 supersedes="a" * 64, reason="correction"),
    ]  # fmt: skip
    timeline = Timeline(structure, contest, keep_changes=True)
    current: dict[str, FormRecord] = {}
    for row in rows:
        timeline.apply(row.seq, "form", row)
        current[row.chain] = form_record(row)
        assert timeline.state.heads("S1") == current
        expected = reconcile_station("S1", contest, current) if len(current) > 1 else []
        for chain, r in current.items():  # each copy's own: partial, or not adding up
            if chain != "official":
                counts = (r.form.votes, r.form.rejected, r.form.polled, r.form.valid)
                expected += copy_findings(contest, "S1", r.form_id, r.form.source.label, counts)
        found = timeline.station_findings.get("S1", [])
        assert [f.as_dict() for f in found] == [f.as_dict() for f in expected]
    codes = [f.code for f in timeline.station_findings["S1"]]
    assert codes.count("station.source_conflict") == 6  # every pair of the four sources
    assert codes.count("form.partial_copy") == 2  # the two agents' copies
    computed = timeline.state.view(structure).computed
    assert dict(computed.votes) == {"NA-1/a": 299, "NA-1/b": 200, "NA-1/c": 101}
    assert (computed.stations_reported, computed.rejected, computed.polled) == (1, 5, 605)
