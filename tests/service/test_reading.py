"""The read model: answers as of a tree size, on SQLite and PostgreSQL, without the writer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tallyproof.domain.consolidation import consolidate, latest_forms
from tallyproof.domain.standings import seat_standings
from tallyproof.ledger.note import Checkpoint
from tallyproof.service import queries
from tallyproof.service.queries import UnknownElection
from tallyproof.service.reading import ReadModel, in_order, parse_as_of
from tallyproof.service.settings import Settings
from tests.helpers import ELECTION, form_doc, make_election


def declare_na1(e, votes: tuple[int, int, int]):
    """The returning officer's declaration of NA-1 with these votes for a, b and c."""
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    named = dict(zip(["NA-1/a", "NA-1/b", "NA-1/c"], votes, strict=True))
    return e.declare(body | {"votes": named, "time": "2024-02-09T10:00:00Z"})


def votes_of(view) -> dict[str, int]:
    return {s.candidate: s.votes for s in view.computed.ranking}


def test_every_answer_is_the_one_the_writer_gave_at_that_size(tmp_path, store_url):
    e = make_election(tmp_path / "h", store_url)
    seen = {}
    for i, votes in enumerate([(300, 200, 100), (50, 400, 10), (70, 80, 90)], start=1):
        e.submit(form_doc(station=f"S{i}", votes=votes))
        by_writer = queries.results(e.ctx, ELECTION, "NA-1")[0]
        seen[e.ctx.state.size] = {s.candidate: s.votes for s in by_writer.ranking}
    model = ReadModel.open(e.ctx.settings)
    for size, votes in seen.items():
        answer = model.contest(ELECTION, "NA-1", size)
        assert answer.tree_size == size and votes_of(answer.value) == votes
        assert Checkpoint.open(answer.checkpoint, e.ctx.log_key).size == size
        assert votes_of(next(v for v in model.results(ELECTION, size).value)) == votes
    assert model.contest(ELECTION, "NA-1").tree_size == max(seen)


def test_a_time_is_the_log_as_it_stood_then(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1"))
    first = e.ctx.state.size
    moment = e.ctx.state.last_received_at
    e.submit(form_doc(station="S2", votes=(1, 2, 3)))
    model = ReadModel.open(e.ctx.settings)
    assert model.contest(ELECTION, "NA-1", parse_as_of(moment)).tree_size == first
    with pytest.raises(UnknownElection, match=r"ledger\.empty|form\.unknown_election"):
        model.contest(ELECTION, "NA-1", parse_as_of("2000-01-01T00:00:00Z"))
    with pytest.raises(ValueError, match="neither a tree size"):
        parse_as_of("yesterday")
    assert parse_as_of("2024-02-08T18:00:00+05:00") == "2024-02-08T13:00:00.000Z"


def test_a_size_past_any_integer_a_store_keeps_is_the_newest_answer(tmp_path, store_url):
    e = make_election(tmp_path / "h", store_url)
    e.submit(form_doc(station="S1"))
    e.ctx.publish_checkpoint()
    model = ReadModel.open(e.ctx.settings)
    newest = model.contest(ELECTION, "NA-1").tree_size
    assert parse_as_of("0" * 40 + "7") == 7
    for text in ("9" * 30, str(2**31), str(2**63), "9" * 5000):
        as_of = parse_as_of(text)
        assert as_of == 2**31 - 1
        assert model.contest(ELECTION, "NA-1", as_of).tree_size == newest
        assert model.claims(ELECTION, as_of=as_of).tree_size == newest


def test_a_size_between_checkpoints_is_answered_at_the_checkpoint_before_it(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1"), form_doc(station="S2"))  # one commit, two entries
    size = e.ctx.state.size
    model = ReadModel.open(e.ctx.settings)
    assert model.contest(ELECTION, "NA-1", size - 1).tree_size == size - 2


def test_the_read_model_needs_no_signing_key_and_writes_nothing(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1"))
    settings = e.ctx.settings
    e.ctx.close()
    shutil.move(settings.log_key_path, tmp_path / "away.key")
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    before = db.stat().st_size
    model = ReadModel.open(settings)
    assert votes_of(model.contest(ELECTION, "NA-1").value)["NA-1/a"] == 300
    model.close()
    assert db.stat().st_size == before


def test_a_missing_store_names_the_home_options(tmp_path):
    from tallyproof.service.writer import NotInitialised

    with pytest.raises(NotInitialised, match="--home"):
        ReadModel.open(Settings.at(tmp_path / "nowhere"))


def test_unknown_contest_and_station_are_named(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1"))
    model = ReadModel.open(e.ctx.settings)
    with pytest.raises(UnknownElection, match=r"form\.unknown_contest"):
        model.contest(ELECTION, "NA-9")
    with pytest.raises(UnknownElection, match=r"form\.unknown_station"):
        model.forms(ELECTION, station="S99")


def test_declared_and_computed_side_by_side_and_the_winner_that_differs(tmp_path):
    e = make_election(tmp_path / "h", stations=2)
    e.submit(
        form_doc(station="S1", votes=(300, 200, 0)), form_doc(station="S2", votes=(300, 200, 0))
    )
    declared = {"NA-1/a": 100, "NA-1/b": 400, "NA-1/c": 0}
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    assert e.declare(body | {"votes": declared, "time": "2024-02-09T10:00:00Z"}).accepted
    model = ReadModel.open(e.ctx.settings)
    view = model.contest(ELECTION, "NA-1").value
    assert view.official.leader.candidate == "NA-1/b"  # the declared winner is official
    assert view.computed.leader.candidate == "NA-1/a"  # and the forms' stays visible
    assert view.differences == {"NA-1/a": -500} and view.winner_differs
    codes = {x.finding.code for x in model.findings(ELECTION, "NA-1").value}
    assert "consolidation.winner_differs" in codes
    standings = model.standings(ELECTION).value
    assert {(r.side, r.won + r.leading) for r in standings.rows if r.assembly == "NA"} == {
        ("PML-N", 1)
    }
    assert {(r.side, r.won + r.leading) for r in standings.by_forms if r.assembly == "NA"} == {
        ("IND (PTI-backed)", 1)
    }


def test_a_corrected_form_resolves_its_finding_and_the_finding_is_kept(tmp_path):
    e = make_election(tmp_path / "h")
    first = e.submit_one(form_doc(station="S1", votes=(300, 200, 100)))
    e.submit_one(form_doc(station="S1", votes=(300, 250, 100), source="agent:PTI"), key=e.agent)
    opened_at = e.ctx.state.size
    model = ReadModel.open(e.ctx.settings)
    (life,) = [
        x for x in model.findings(ELECTION).value if x.finding.code == "station.source_conflict"
    ]
    assert life.open and life.opened_size == opened_at
    fix = form_doc(
        station="S1", votes=(300, 250, 100), supersedes=first.entry_id, reason="correction"
    )
    corrected = e.submit_one(fix)
    assert corrected.accepted, corrected.problems
    lives = [
        x for x in model.findings(ELECTION).value if x.finding.code == "station.source_conflict"
    ]
    (resolved,) = lives
    assert not resolved.open and resolved.resolved_by == corrected.receipt.leaf_index
    assert resolved.opened_size == opened_at
    history = model.history(ELECTION, "NA-1").value
    assert [c.kind for c in history] == ["form", "form", "form"]
    assert history[-1].resolved and history[1].opened
    # and as of the moment before the correction, it was open
    assert model.findings(ELECTION, "NA-1", opened_at).value[0].open


def test_every_copy_of_a_station_form_side_by_side(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit_one(form_doc(station="S1", votes=(300, 200, 100)))
    e.submit_one(form_doc(station="S1", votes=(300, 250, 100), source="agent:PTI"), key=e.agent)
    entries = ReadModel.open(e.ctx.settings).forms(ELECTION, station="S1").value
    assert [(x.record.source, x.current) for x in entries] == [
        ("presiding_officer", True),
        ("agent:PTI", True),
    ]
    assert entries[1].differs_from_official == ("NA-1/b", "polled")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.integers(1, 4), st.tuples(*[st.integers(0, 500)] * 3), st.booleans()),
            st.tuples(st.just("declare"), st.tuples(*[st.integers(0, 2000)] * 3)),
            st.tuples(st.just("order"), st.sampled_from(["postponed", "final", "counting"])),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_the_running_tally_equals_a_recount_at_every_size(tmp_path_factory, steps):
    """Advanced batch by batch, read back from the figures kept at each checkpoint, or read
    for one contest from its own rows: the totals are the sum of each station's current
    official form at that size, and the whole view (declared result, status, stations and
    voters reported) is the same whichever way it was reached."""
    e = make_election(tmp_path_factory.mktemp("tally"))
    heads: dict[str, str] = {}
    sizes, expected = [], []
    for step in steps:
        if step[0] == "declare":
            outcome = declare_na1(e, step[1])
        elif step[0] == "order":
            outcome = e.order("contest", "NA-1", step[1], "ordered")
        else:
            station, votes, correct = step
            sid = f"S{station}"
            fix = correct and sid in heads
            extra = {"supersedes": heads[sid], "reason": "correction"} if fix else {}
            outcome = e.submit_one(form_doc(station=sid, votes=votes, **extra))
            if outcome.accepted:
                heads[sid] = outcome.entry_id
        if not outcome.accepted:
            continue  # a duplicate, a bare second form, a second declaration, a bad order
        structure = e.ctx.state.elections[ELECTION]
        with e.ctx.read() as reader:
            current = latest_forms(queries.form_records(reader, ELECTION))
        records = {
            s: r for (s, c, chain), r in current.items() if (c, chain) == ("NA-1", "official")
        }
        expected.append(dict(consolidate(structure, structure.contest("NA-1"), records).votes))
        sizes.append(e.ctx.state.size)
    model = ReadModel.open(e.ctx.settings)
    by_rows = ReadModel.open(e.ctx.settings)  # never tallies: each contest from its own rows
    for size, votes in zip(sizes, expected, strict=True):  # forwards: advanced
        views = model.results(ELECTION, size).value
        assert votes_of(views[0]) == votes
        assert views[0] == by_rows.contest(ELECTION, "NA-1", size).value
        structure = e.ctx.state.elections[ELECTION]
        kept = model.standings(ELECTION, size).value  # seat counts moved as contests change
        assert kept.rows == seat_standings(structure, [v.official for v in views])
        assert kept.by_forms == seat_standings(structure, [v.computed for v in views])
    for size, votes in reversed(list(zip(sizes, expected, strict=True))):  # backwards: kept
        assert votes_of(model.results(ELECTION, size).value[0]) == votes
        assert (
            model.contest(ELECTION, "NA-1", size).value
            == by_rows.contest(ELECTION, "NA-1", size).value
        )


def test_stations_reported_advanced_size_by_size_is_the_curve_read_whole(tmp_path, store_url):
    """The reporting curve kept and advanced by the forms since (a station counted once, at
    its first official form; an agent's copy not at all) is, at every size, the one a fresh
    read model builds from the whole log up to it."""
    e = make_election(tmp_path / "h", store_url)
    sizes = []
    for doc, key in [
        (form_doc(station="S1"), None),
        (form_doc(station="S2", source="agent:PTI"), e.agent),
        (form_doc(station="S1", contest="PP-1", votes=(10, 20)), None),
        (form_doc(station="S2"), None),
        (form_doc(station="S3", votes=(1, 2, 3)), None),
    ]:
        assert e.submit_one(doc, key=key).accepted
        sizes.append(e.ctx.state.size)
    kept = ReadModel.open(e.ctx.settings)
    reported = []
    for size in sizes:
        curve = kept.reporting(ELECTION, size).value
        assert curve == ReadModel.open(e.ctx.settings).reporting(ELECTION, size).value
        reported.append(sum(n for _, n in curve.times))
    assert reported == [1, 1, 1, 2, 3]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(["presiding_officer", "agent:PTI"]),
                st.sampled_from(["NA-1", "NA-1", "PP-1"]),
                st.integers(1, 2),
                st.tuples(*[st.integers(0, 500)] * 3),
                st.booleans(),
            ),
            st.tuples(st.just("declare"), st.tuples(*[st.integers(0, 2000)] * 3)),
            st.tuples(
                st.just("order"),
                st.sampled_from(
                    [("contest", "NA-1", s) for s in ("postponed", "final", "counting")]
                    + [("station", "S2", s) for s in ("suspended", "re_poll_ordered", "open")]
                ),
            ),
        ),
        min_size=3,
        max_size=14,
    ),
    st.integers(1, 4),
)
def test_the_elections_findings_kept_and_advanced_are_the_replayed_ones(
    tmp_path_factory, steps, stride
):
    """The whole election's findings, kept and advanced by the entries since (asked at every
    `stride`-th size, forwards), then asked at earlier sizes (replayed): each answer is the
    one its contests replayed one by one give, life for life."""
    e = make_election(tmp_path_factory.mktemp("findings"))
    heads: dict[tuple[str, str, str], str] = {}
    sizes = []
    for step in steps:
        if step[0] == "declare":
            outcome = declare_na1(e, step[1])
        elif step[0] == "order":
            outcome = e.order(*step[1], "ordered")
        else:
            source, contest, station, votes, correct = step
            place = (source, contest, f"S{station}")
            fix = correct and place in heads
            extra = {"supersedes": heads[place], "reason": "correction"} if fix else {}
            doc = form_doc(f"S{station}", votes, source=source, contest=contest, **extra)
            outcome = e.submit_one(doc, key=e.agent if source != "presiding_officer" else None)
            if outcome.accepted:
                heads[place] = outcome.entry_id
        if outcome.accepted:
            sizes.append(e.ctx.state.size)
    kept = ReadModel.open(e.ctx.settings)
    by_contest = ReadModel.open(e.ctx.settings)

    def replayed(size: int) -> list:
        lives = [
            life
            for code in ("NA-1", "PP-1")
            for life in by_contest.findings(ELECTION, code, size).value
        ]
        return in_order(lives)

    for size in sizes[::stride] + sizes[-1:]:
        assert kept.findings(ELECTION, None, size).value == replayed(size)
    for size in reversed(sizes):
        assert kept.findings(ELECTION, None, size).value == replayed(size)
    event(f"findings: {min(len(replayed(sizes[-1])), 3)}" if sizes else "nothing accepted")
