"""The status state machine and station orders acting on results: a suspended station's forms
stop counting, a re-poll order covers every contest its station serves, and the writer, the
read model and the independent audit agree on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyproof.audit.run import audit_bundle
from tallyproof.domain.status import (
    CONTEST_TRANSITIONS,
    STATION_TRANSITIONS,
    ContestStatus,
    StationStatus,
    check_transition,
)
from tallyproof.export.bundle import export_bundle
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, queries
from tallyproof.service.reading import ReadModel
from tests.helpers import ELECTION, ElectionFixture, form_doc, make_election


@pytest.fixture
def e(tmp_path: Path) -> ElectionFixture:
    return make_election(tmp_path / "home")


def computed(e: ElectionFixture, contest: str) -> dict[str, int]:
    """The contest's votes as the read model computes them from the forms, at the log's end."""
    view = ReadModel.open(e.ctx.settings).contest(ELECTION, contest, e.ctx.state.size).value
    return dict(view.computed.votes)


def writer_votes(e: ElectionFixture, contest: str) -> dict[str, int]:
    (result,) = queries.results(e.ctx, ELECTION, contest)
    return dict(result.votes)


def open_codes(e: ElectionFixture, contest: str) -> set[tuple[str, str | None]]:
    lives = ReadModel.open(e.ctx.settings).findings(ELECTION, contest, e.ctx.state.size).value
    return {(life.finding.code, life.finding.station) for life in lives if life.open}


def audited(e: ElectionFixture, directory: Path) -> dict[str, dict]:
    """The bundle's published results, after the independent audit found nothing wrong."""
    export_bundle(e.ctx, directory)
    report = audit_bundle(directory, workers=1)
    assert report.ok, report.issues
    results = json.loads((directory / "results.json").read_text())
    return {r["contest"]: r for r in results["elections"][ELECTION]}


def test_a_re_poll_in_one_contest_stops_the_stations_other_contest_counting(e, tmp_path):
    """The NA-130 story: a re-poll is ordered at a station serving NA-1 and PP-1, and the
    re-poll's NA-1 form comes first; the station's polling-day PP-1 form must stop counting
    (with a finding) until its own re-poll form comes."""
    na1 = e.submit_one(form_doc(station="S1", votes=(500, 100, 10)))
    pp1 = e.submit_one(form_doc(station="S1", contest="PP-1", votes=(400, 200)))
    e.submit_one(form_doc(station="S2", contest="PP-1", votes=(5, 7)))
    assert na1.accepted and pp1.accepted
    assert e.order("station", "S1", "re_poll_ordered", "ballot boxes snatched").accepted
    again = form_doc(station="S1", votes=(200, 300, 10), supersedes=na1.entry_id, reason="re_poll")
    assert e.submit_one(again).accepted

    assert computed(e, "NA-1") == {"NA-1/a": 200, "NA-1/b": 300, "NA-1/c": 10}
    assert computed(e, "PP-1") == {"PP-1/x": 5, "PP-1/y": 7}  # S1's polling-day form is out
    assert writer_votes(e, "PP-1") == {"PP-1/x": 5, "PP-1/y": 7}
    assert ("station.re_poll_pending", "S1") in open_codes(e, "PP-1")
    assert ("station.re_poll_pending", "S1") not in open_codes(e, "NA-1")
    published = audited(e, tmp_path / "bundle1")
    assert published["PP-1"]["votes"] == {"PP-1/x": 5, "PP-1/y": 7}

    pp_again = form_doc(
        station="S1", contest="PP-1", votes=(100, 50), supersedes=pp1.entry_id, reason="re_poll"
    )
    assert e.submit_one(pp_again).accepted
    assert computed(e, "PP-1") == {"PP-1/x": 105, "PP-1/y": 57}
    assert writer_votes(e, "PP-1") == {"PP-1/x": 105, "PP-1/y": 57}
    assert ("station.re_poll_pending", "S1") not in open_codes(e, "PP-1")
    published = audited(e, tmp_path / "bundle2")
    assert published["PP-1"]["votes"] == {"PP-1/x": 105, "PP-1/y": 57}
    assert published["NA-1"]["votes"] == {"NA-1/a": 200, "NA-1/b": 300, "NA-1/c": 10}


def test_a_suspended_stations_forms_stop_counting_until_lifted(e, tmp_path):
    e.submit_one(form_doc(station="S1", votes=(500, 100, 10)))
    e.submit_one(form_doc(station="S1", contest="PP-1", votes=(400, 200)))  # NA polled 620, PA 610
    e.submit_one(form_doc(station="S2", votes=(1, 2, 3)))
    assert e.order("station", "S1", "suspended", "riots at the counting hall").accepted
    assert computed(e, "NA-1") == {"NA-1/a": 1, "NA-1/b": 2, "NA-1/c": 3}
    assert computed(e, "PP-1") == {"PP-1/x": 0, "PP-1/y": 0}
    assert writer_votes(e, "NA-1") == {"NA-1/a": 1, "NA-1/b": 2, "NA-1/c": 3}
    for contest in ("NA-1", "PP-1"):
        assert ("station.suspended_forms_excluded", "S1") in open_codes(e, contest)
    view = ReadModel.open(e.ctx.settings).contest(ELECTION, "NA-1", e.ctx.state.size).value
    assert view.computed.stations_reported == 1
    assert audited(e, tmp_path / "b1")["NA-1"]["votes"] == {"NA-1/a": 1, "NA-1/b": 2, "NA-1/c": 3}

    assert e.order("station", "S1", "open", "order lifted").accepted
    assert computed(e, "NA-1") == {"NA-1/a": 501, "NA-1/b": 102, "NA-1/c": 13}
    assert computed(e, "PP-1") == {"PP-1/x": 400, "PP-1/y": 200}
    assert not open_codes(e, "NA-1")
    assert audited(e, tmp_path / "b2")["NA-1"]["votes"]["NA-1/a"] == 501


def test_a_re_poll_after_a_suspension_never_counts_the_polling_day_form(e):
    first = e.submit_one(form_doc(station="S1", votes=(500, 100, 10)))
    assert e.order("station", "S1", "suspended", "riots").accepted
    assert e.order("station", "S1", "re_poll_ordered", "re-poll on the 19th").accepted
    assert e.order("station", "S1", "open", "the re-poll was held").accepted
    assert computed(e, "NA-1") == {"NA-1/a": 0, "NA-1/b": 0, "NA-1/c": 0}
    assert writer_votes(e, "NA-1") == {"NA-1/a": 0, "NA-1/b": 0, "NA-1/c": 0}
    late = form_doc(station="S1", votes=(7, 8, 9), supersedes=first.entry_id, reason="re_poll")
    outcome = e.submit_one(late)
    # the station is open again: a re-poll form needs a standing re-poll order
    assert [p.code for p in outcome.problems] == ["form.re_poll_not_ordered"]


@pytest.mark.parametrize(
    ("scope", "current", "new"),
    [
        (scope, current, new)
        for scope, table, statuses in (
            ("contest", CONTEST_TRANSITIONS, ContestStatus),
            ("station", STATION_TRANSITIONS, StationStatus),
        )
        for current in statuses
        for new in statuses
    ],
)
def test_every_transition_is_allowed_exactly_when_the_table_says(scope, current, new):
    table = CONTEST_TRANSITIONS if scope == "contest" else STATION_TRANSITIONS
    problem = check_transition(scope, current, new)
    assert (problem is None) == (new in table[current])
    if problem is not None:
        assert problem.code == "status.illegal_transition" and problem.field == "status"
        assert f"is {current}" in problem.message and f"become {new}" in problem.message


def test_the_table_keeps_the_rules_of_docs_rules_md():
    c = CONTEST_TRANSITIONS
    assert c[ContestStatus.FINAL] == {"vacated"}  # final is terminal except to vacated
    assert not c[ContestStatus.VACATED]
    assert {s for s, to in c.items() if "vacated" in to} == {"provisional", "final"}
    pre_final = {"scheduled", "polling", "counting", "provisional", "postponed", "suspended"}
    assert {s for s, to in c.items() if "suspended" in to} == pre_final - {"suspended"}
    assert {s for s, to in c.items() if "postponed" in to} == pre_final - {"postponed"}
    for lifted in ("postponed", "suspended"):
        assert {"scheduled", "polling"} <= c[lifted]
    progress = ["scheduled", "polling", "counting", "provisional", "final"]
    for i, status in enumerate(progress[:-1]):
        assert not set(progress[: i + 1]) & c[status]  # never backwards, never to itself


def test_an_illegal_order_is_refused_naming_both_statuses_and_changes_nothing(e):
    assert e.order("contest", "NA-1", "provisional").accepted
    size = e.ctx.state.size
    refused = e.order("contest", "NA-1", "polling", "reopened")
    assert [(p.code, p.field) for p in refused.problems] == [
        ("status.illegal_transition", "status")
    ]
    assert "provisional" in refused.problems[0].message
    assert "polling" in refused.problems[0].message
    assert e.ctx.refresh().size == size
    assert e.ctx.state.contest_status_of(ELECTION, "NA-1")[0] is ContestStatus.PROVISIONAL
    assert [p.code for p in e.order("contest", "NA-1", "vacated", "renounced").problems] == []
    assert e.order("contest", "NA-1", "final").problems[0].code == "status.illegal_transition"
    station = e.order("station", "S1", "open", "nothing to lift")
    assert station.problems[0].code == "status.illegal_transition"


def test_a_step_on_the_chain_is_judged_from_the_order_before_it_not_from_reporting(e):
    """Every station reported: the contest shows provisional by its forms. A step on the
    progress chain is judged from what was last ordered, so a late 'counting' order is kept
    (and changes nothing shown) whether it reached the log before the forms or after them;
    a step back from what was ordered is refused."""
    assert e.order("contest", "NA-1", "polling").accepted  # scheduled -> polling, ordered
    for i in range(1, 5):
        assert e.submit_one(form_doc(station=f"S{i}", votes=(i, 2, 3))).accepted
    assert e.ctx.state.status_now(ELECTION, "contest", "NA-1") == "provisional"
    assert e.order("contest", "NA-1", "counting", "late").accepted
    assert e.ctx.state.status_now(ELECTION, "contest", "NA-1") == "provisional"  # still shown
    for back in ("counting", "polling", "scheduled"):  # counting is now what was ordered
        refused = e.order("contest", "NA-1", back, "back")
        assert [p.code for p in refused.problems] == ["status.illegal_transition"]
    assert e.order("contest", "NA-1", "final").accepted
    # PP-1: one station of four reported, counting by its forms, nothing ordered
    e.submit_one(form_doc(station="S1", contest="PP-1", votes=(1, 1)))
    assert e.ctx.state.status_now(ELECTION, "contest", "PP-1") == "counting"
    assert e.order("contest", "PP-1", "polling").accepted  # scheduled -> polling, as ordered
    assert e.order("contest", "PP-1", "suspended", "law and order").accepted
    assert e.order("contest", "PP-1", "polling", "lifted").accepted


def test_a_returning_officers_declaration_makes_the_contest_provisional_for_orders(e):
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    votes = {"NA-1/a": 10, "NA-1/b": 20, "NA-1/c": 5}
    assert e.declare(body | {"votes": votes, "time": "2024-02-09T10:00:00Z"}).accepted
    assert e.ctx.state.status_now(ELECTION, "contest", "NA-1") == "provisional"
    # vacated is judged from the status shown: a declared result may be vacated
    assert e.order("contest", "NA-1", "vacated", "winner disqualified").accepted
    assert e.order("contest", "NA-1", "final").problems[0].code == "status.illegal_transition"


def test_an_order_may_carry_the_re_poll_date_and_old_orders_stay_valid(e):
    from tallyproof.domain.problems import Rejected
    from tallyproof.domain.status import parse_status_order

    structure = e.ctx.state.elections[ELECTION]
    base = {
        "election": ELECTION,
        "scope": "station",
        "target": "S1",
        "status": "re_poll_ordered",
        "reason": "riots",
        "time": "2024-02-08T12:00:00Z",
    }
    assert parse_status_order(base, structure).document() == base  # unchanged, so same id
    dated = parse_status_order(base | {"re_poll_date": "2024-02-15"}, structure)
    assert dated.re_poll_date == "2024-02-15"
    assert dated.document()["re_poll_date"] == "2024-02-15"
    with pytest.raises(Rejected) as bad:
        parse_status_order(base | {"re_poll_date": "15 Feb"}, structure)
    assert bad.value.codes == ["schema.date"]
    contest = base | {"scope": "contest", "target": "NA-1", "status": "postponed"}
    with pytest.raises(Rejected) as wrong:
        parse_status_order(contest | {"re_poll_date": "2024-02-15"}, structure)
    assert wrong.value.codes == ["status.re_poll_date_not_allowed"]


def by_election(replaces: dict[str, str] | None, kind: str = "by_election") -> dict:
    """A by-election for the seat of NA-1, signed by its own admin key."""
    from tests.helpers import structure_doc

    admin_key = Signer.from_seed_text("bye/admin", "test:bye-admin")
    doc = structure_doc(admin_key.public.b64, stations=2)
    doc["election"] |= {"id": "test-2024-bye", "kind": kind, "date": "2024-04-21"}
    doc["contests"] = [doc["contests"][0]]
    for station in doc["stations"]:
        station["contests"] = ["NA-1"]
    if replaces is not None:
        doc["contests"][0]["replaces"] = replaces
    return sign(EntryKind.STRUCTURE, doc, admin_key).envelope()


def test_a_by_election_fills_only_a_seat_the_ledger_made_vacated(e, tmp_path):
    seat = {"election": ELECTION, "contest": "NA-1"}
    early = admin.import_structure(e.ctx, by_election(seat))
    assert [(p.code, p.field) for p in early.problems] == [
        ("structure.replaces_not_vacated", "contests[0].replaces")
    ]
    unknown = admin.import_structure(e.ctx, by_election({"election": ELECTION, "contest": "X"}))
    assert [p.code for p in unknown.problems] == ["structure.replaces_not_vacated"]
    general = admin.import_structure(e.ctx, by_election(seat, kind="general"))
    assert [p.code for p in general.problems] == ["structure.replaces_needs_by_election"]
    assert "test-2024-bye" not in e.ctx.refresh().elections

    for i in range(1, 5):
        assert e.submit_one(form_doc(station=f"S{i}", votes=(50 + i, 20, 3))).accepted
    assert e.order("contest", "NA-1", "vacated", "the winner renounced the seat").accepted
    bye = admin.import_structure(e.ctx, by_election(seat))
    assert bye.accepted, bye.problems
    structure = e.ctx.state.elections["test-2024-bye"]
    assert structure.contest("NA-1").replaces == (ELECTION, "NA-1")
    assert structure.document()["contests"][0]["replaces"] == seat  # round-trips
    audited(e, tmp_path / "bundle")  # the audit agrees the seat was vacated first


def test_a_contest_shows_its_totals_before_and_after_the_re_poll_side_by_side(e):
    from tallyproof.formats.answers import view_dict

    na1 = e.submit_one(form_doc(station="S1", votes=(500, 100, 10)))
    e.submit_one(form_doc(station="S2", votes=(40, 60, 5)))
    assert e.order("station", "S1", "re_poll_ordered", "ballot boxes snatched").accepted
    assert e.order("station", "S3", "re_poll_ordered", "polling never started").accepted
    ordered = e.ctx.state.size
    again = form_doc(station="S1", votes=(200, 300, 10), supersedes=na1.entry_id, reason="re_poll")
    assert e.submit_one(again).accepted
    model = ReadModel.open(e.ctx.settings)
    for fresh in (True, False):  # from the contest's own rows, and from a kept tally
        if not fresh:
            model.results(ELECTION, e.ctx.state.size)
        view = model.contest(ELECTION, "NA-1", e.ctx.state.size).value
        r = view.re_polls
        assert r is not None
        assert r.before == {"NA-1/a": 540, "NA-1/b": 160, "NA-1/c": 15}
        assert r.after == {"NA-1/a": 240, "NA-1/b": 360, "NA-1/c": 15} == dict(view.computed.votes)
        assert r.change == {"NA-1/a": -300, "NA-1/b": 200, "NA-1/c": 0}
        s1, s3 = r.stations
        assert (s1.station, s1.before, s1.after) == (
            "S1",
            {"NA-1/a": 500, "NA-1/b": 100, "NA-1/c": 10},
            {"NA-1/a": 200, "NA-1/b": 300, "NA-1/c": 10},
        )
        assert (s3.station, s3.before, s3.after) == ("S3", {}, None)  # not yet re-polled
        model = ReadModel.open(e.ctx.settings)
    # before the re-poll form came, the after side is the polling-day total minus S1
    earlier = ReadModel.open(e.ctx.settings).contest(ELECTION, "NA-1", ordered).value
    assert earlier.re_polls.after == {"NA-1/a": 40, "NA-1/b": 60, "NA-1/c": 5}
    assert earlier.re_polls.stations[0].after is None
    record = view_dict(view)["re_polls"]
    assert record["stations"][0]["after"] == {"NA-1/a": 200, "NA-1/b": 300, "NA-1/c": 10}
    assert record["before"]["NA-1/a"] == 540
    pp1 = ReadModel.open(e.ctx.settings).contest(ELECTION, "PP-1", e.ctx.state.size).value
    assert pp1.re_polls is not None and pp1.re_polls.after == {"PP-1/x": 0, "PP-1/y": 0}
    untouched = make_election(e.ctx.settings.home.parent / "other")
    untouched.submit_one(form_doc())
    plain = ReadModel.open(untouched.ctx.settings).contest(ELECTION, "NA-1").value
    assert plain.re_polls is None


@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("form"),
                st.sampled_from(["S1", "S2", "S3"]),
                st.sampled_from(["NA-1", "PP-1"]),
                st.integers(0, 300),
            ),
            st.tuples(
                st.just("order"),
                st.sampled_from(["S1", "S2"]),
                st.sampled_from(["suspended", "re_poll_ordered", "open"]),
            ),
        ),
        min_size=1,
        max_size=14,
    )
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_reader_counts_what_the_station_orders_leave_counting(tmp_path_factory, steps):
    """Forms and station orders in any order: the writer's results, the read model's kept
    tally and its replay from the contest's rows all give the sum of each station's current
    official form, leaving out a suspended station's and any logged before the station's
    latest re-poll order."""
    e = make_election(tmp_path_factory.mktemp("orders"))
    heads: dict[tuple[str, str], tuple[str, int, tuple[int, ...]]] = {}  # -> id, seq, votes
    status: dict[str, str] = {}
    re_polled: dict[str, int] = {}
    for step in steps:
        if step[0] == "order":
            _, station, new = step
            outcome = e.order("station", station, new, "ordered")
            if outcome.accepted and not outcome.duplicate:  # the same order again is a no-op
                status[station] = new
                if new == "re_poll_ordered":
                    re_polled[station] = e.ctx.state.size - 1
            continue
        _, station, contest, n = step
        votes = (n, 7, 1) if contest == "NA-1" else (n, 7)
        extra = {}
        if (station, contest) in heads:
            form_id, seq, _ = heads[(station, contest)]
            pre_order = status.get(station) == "re_poll_ordered" and seq < re_polled[station]
            extra = {"supersedes": form_id, "reason": "re_poll" if pre_order else "correction"}
        outcome = e.submit_one(form_doc(station=station, contest=contest, votes=votes, **extra))
        if outcome.accepted:
            heads[(station, contest)] = (outcome.entry_id, e.ctx.state.size - 1, votes)
    e.ctx.publish_checkpoint()  # so the readers answer at the log's end
    size = e.ctx.state.size
    kept, by_rows = ReadModel.open(e.ctx.settings), ReadModel.open(e.ctx.settings)
    views = {v.computed.contest: v for v in kept.results(ELECTION, size).value}
    for contest, ids in (("NA-1", ("NA-1/a", "NA-1/b", "NA-1/c")), ("PP-1", ("PP-1/x", "PP-1/y"))):
        expected = dict.fromkeys(ids, 0)
        for (station, code), (_, seq, votes) in heads.items():
            counts = status.get(station) != "suspended" and seq > re_polled.get(station, -1)
            if code == contest and counts:
                for candidate, n in zip(ids, votes, strict=True):
                    expected[candidate] += n
        assert dict(views[contest].computed.votes) == expected
        assert dict(kept.contest(ELECTION, contest, size).value.computed.votes) == expected
        assert dict(by_rows.contest(ELECTION, contest, size).value.computed.votes) == expected
        assert writer_votes(e, contest) == expected
